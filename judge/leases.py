"""Leases: the judge queue's exactly-once core, part of :class:`~codetutor.judge.store.Store`.

A worker *claims* a submission under a fresh random token (one conditional
``UPDATE ... RETURNING``), keeps it by renewing before the lease expires, and
*finishes* it by storing the verdict only where its token is still in the row.
"""

from __future__ import annotations

import json
import secrets
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import CaseResult, Submission, SubmissionStatus, utcnow


@dataclass(frozen=True)
class Lease:
    """A worker's claim on one submission, valid while ``token`` is still in its row."""

    submission_id: int
    token: str
    owner: str
    attempts: int
    expires_at: datetime


class LeaseQueries:
    """The lease operations of :class:`~codetutor.judge.store.Store`."""

    if TYPE_CHECKING:

        @property
        def is_sqlite(self) -> bool: ...

        def session(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def _claimable(self, now: datetime) -> Any:
        return or_(
            Submission.status == SubmissionStatus.QUEUED.value,
            and_(
                Submission.status == SubmissionStatus.RUNNING.value,
                Submission.lease_expires_at < now,
            ),
        )

    async def claim(
        self,
        owner: str,
        lease_s: float,
        *,
        submission_id: int | None = None,
        min_age_s: float = 0.0,
    ) -> Lease | None:
        """Take the oldest claimable submission (or exactly ``submission_id``).

        Claimable means ``queued``, or ``running`` with an expired lease. With
        ``min_age_s`` only submissions created at least that long ago are
        taken (the Redis queue's safety sweep leaves fresh ones to Redis).
        Returns the new :class:`Lease`, or ``None`` when there is nothing to
        claim (or another worker won the race).
        """
        now = utcnow()
        token = secrets.token_hex(16)
        expires = now + timedelta(seconds=lease_s)
        condition = self._claimable(now)
        if submission_id is not None:
            target: Any = submission_id
        else:
            pick = select(Submission.id).where(condition)
            if min_age_s > 0:
                pick = pick.where(Submission.created_at <= now - timedelta(seconds=min_age_s))
            pick = pick.order_by(Submission.id).limit(1)
            if not self.is_sqlite:
                pick = pick.with_for_update(skip_locked=True)
            target = pick.scalar_subquery()
        statement = (
            update(Submission)
            .where(Submission.id == target, condition)
            .values(
                status=SubmissionStatus.RUNNING.value,
                lease_token=token,
                lease_owner=owner,
                lease_expires_at=expires,
                attempts=Submission.attempts + 1,
                started_at=now,
            )
            .returning(Submission.id, Submission.attempts)
            .execution_options(synchronize_session=False)
        )
        async with self.session() as s:
            row = (await s.execute(statement)).first()
        if row is None:
            return None
        return Lease(
            submission_id=row[0], token=token, owner=owner, attempts=row[1], expires_at=expires
        )

    async def renew(self, lease: Lease, lease_s: float) -> bool:
        """Extend a lease still held; ``False`` when it was lost (stop judging then)."""
        statement = (
            update(Submission)
            .where(Submission.id == lease.submission_id, Submission.lease_token == lease.token)
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
        async with self.session() as s:
            result = await s.execute(statement)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, lease: Lease) -> bool:
        """Give a held submission back to the queue (``queued``) for another try."""
        statement = (
            update(Submission)
            .where(Submission.id == lease.submission_id, Submission.lease_token == lease.token)
            .values(
                status=SubmissionStatus.QUEUED.value,
                lease_token=None,
                lease_owner=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        async with self.session() as s:
            result = await s.execute(statement)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish(self, lease: Lease, result: dict[str, Any]) -> bool:
        """Store the verdict of a held submission, with its case results, atomically.

        ``result`` is the judge's instructor view (``verdict``, ``score``,
        ``time_ms``, ``cases``). Returns ``False`` and stores nothing when the
        lease is no longer held (another worker took it over).
        """
        statement = (
            update(Submission)
            .where(
                Submission.id == lease.submission_id,
                Submission.lease_token == lease.token,
                Submission.status == SubmissionStatus.RUNNING.value,
            )
            .values(
                status=SubmissionStatus.JUDGED.value,
                verdict=str(result["verdict"]),
                score=float(result.get("score") or 0.0),
                time_ms=_float_or_none(result.get("time_ms")),
                result=result,
                finished_at=utcnow(),
                lease_token=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        async with self.session() as s:
            updated = await s.execute(statement)
            if not updated.rowcount:  # type: ignore[attr-defined]
                return False
            for position, case in enumerate(result.get("cases") or []):
                s.add(
                    CaseResult(
                        submission_id=lease.submission_id,
                        position=position,
                        name=str(case.get("name", f"case {position + 1}"))[:255],
                        visibility=str(case.get("visibility", "public")),
                        status=str(case.get("status", "error")),
                        time_ms=_float_or_none(case.get("time_ms")),
                        detail=json.loads(json.dumps(case, default=str)),
                    )
                )
        return True


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
