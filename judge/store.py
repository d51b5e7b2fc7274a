"""The judge service's database: problems, submissions and their verdicts.

:class:`Store` is the one way the service and its workers touch the database.
It speaks SQLite (the embedded default, through aiosqlite) and PostgreSQL
(production, through psycopg 3) with the same Alembic migrations. Every method
that does IO is a coroutine.

Exactly-once results rest on two conditional updates (:mod:`codetutor.judge.leases`):

- :meth:`Store.claim` moves one submission from ``queued`` (or ``running`` with
  an expired lease) to ``running`` under a fresh random lease token, in one
  ``UPDATE ... WHERE <still claimable> RETURNING``. Two workers can never both
  win the same submission.
- :meth:`Store.finish` stores a verdict only ``WHERE lease_token = <mine>``. A
  worker whose lease was taken over (it stalled past the visibility timeout)
  stores nothing, so a submission never gets two verdicts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import alembic.command
import alembic.config
import nbformat
from jupyter_core.paths import jupyter_data_dir
from sqlalchemy import Connection, and_, event, func, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import selectinload
from traitlets import Float, Int, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from .leases import LeaseQueries
from .models import (
    HiddenBundle,
    Problem,
    PublishAudit,
    Submission,
    SubmissionStatus,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from .problem import Problem as JudgeProblem

MIGRATIONS = Path(__file__).parent / "migrations"
#: any constant; serializes concurrent migrations on PostgreSQL
_MIGRATION_LOCK = 0x636F6465


@dataclass(frozen=True)
class PublishedProblem:
    """What :meth:`Store.publish` stored."""

    problem: Problem
    created_version: bool


class Store(LeaseQueries, LoggingConfigurable):
    """Async access to the judge database (SQLite or PostgreSQL).

    Call :meth:`connect` (and :meth:`upgrade` once per deployment, the service
    does it on start) before anything else, and :meth:`close` at the end.
    """

    url = Unicode(
        help="""SQLAlchemy URL of the judge database.

        ``sqlite:///PATH`` (the embedded default, in the Jupyter data dir) or
        ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB`` in production.
        The async driver is chosen from it (aiosqlite, psycopg).
        """,
    ).tag(config=True)

    @default("url")
    def _default_url(self) -> str:
        return "sqlite:///" + str(Path(jupyter_data_dir()) / "codetutor" / "judge.sqlite")

    @validate("url")
    def _check_url(self, proposal: Any) -> str:
        backend = make_url(proposal["value"]).get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
        return str(proposal["value"])

    pool_size = Int(5, help="Connections kept open per process (PostgreSQL only).").tag(config=True)

    sqlite_busy_timeout_s = Float(
        30.0,
        help="How long a SQLite writer waits for the database lock held by another process.",
    ).tag(config=True)

    engine: AsyncEngine | None = None

    # -- lifecycle -----------------------------------------------------------

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.url).get_backend_name() == "sqlite"

    def async_url(self) -> str:
        """The URL with the async driver of its backend."""
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            url = url.set(drivername="sqlite+aiosqlite")
        else:
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)

    async def connect(self) -> None:
        """Open the connection pool (idempotent). Creates a SQLite file's folder."""
        if self.engine is not None:
            return
        if self.is_sqlite:
            database = make_url(self.url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_async_engine(self.async_url())
            self._install_sqlite_pragmas(self.engine)
        else:
            self.engine = create_async_engine(
                self.async_url(),
                pool_pre_ping=True,
                pool_size=self.pool_size,
                max_overflow=self.pool_size,
            )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def _install_sqlite_pragmas(self, engine: AsyncEngine) -> None:
        busy_ms = int(self.sqlite_busy_timeout_s * 1000)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, record: Any) -> None:
            # Take transaction control from the driver so that every
            # transaction starts with BEGIN IMMEDIATE (below): a deferred
            # transaction that reads, then writes, fails at once with
            # "database is locked" when another process wrote in between,
            # instead of waiting for the lock.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        if self.engine is None:
            raise RuntimeError("Store.connect() was not called")
        async with self._sessions() as session, session.begin():
            yield session

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration (safe to run from several processes)."""
        await self.connect()
        assert self.engine is not None
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
            await conn.run_sync(_run_upgrade)

    async def ping(self) -> str | None:
        """``None`` when the database answers, else the error's one-line description."""
        try:
            async with asyncio.timeout(5):
                await self.connect()
                assert self.engine is not None
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                    await conn.rollback()
        except Exception as e:
            return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": ")
        return None

    # -- users ---------------------------------------------------------------

    async def ensure_user(self, name: str) -> User:
        """The user called ``name``, created on first sight; ``last_seen_at`` is refreshed."""
        now = utcnow()
        for _ in range(3):
            try:
                async with self.session() as s:
                    user = await s.scalar(select(User).where(User.name == name))
                    if user is None:
                        user = User(name=name, created_at=now, last_seen_at=now)
                        s.add(user)
                    elif now - user.last_seen_at > timedelta(minutes=1):
                        user.last_seen_at = now
                    return user
            except IntegrityError:
                # another process created the same user: read it again
                continue
        raise RuntimeError(f"cannot create user {name!r}")

    # -- problems ------------------------------------------------------------

    async def publish(
        self,
        *,
        user: User,
        slug: str,
        title: dict[str, str],
        difficulty: int,
        tags: Sequence[str],
        mode: str,
        public: dict[str, Any],
        student_notebook: str,
        bundle: str,
        case_count: int,
        sha256: str,
    ) -> PublishedProblem:
        """Store a published problem as the next version of ``slug``, with its audit row.

        Publishing content identical (same ``sha256``) to the newest version
        adds no version and returns that version (``created_version`` False);
        it is audited all the same.
        """
        for _ in range(5):
            try:
                async with self.session() as s:
                    latest = await s.scalar(
                        select(Problem)
                        .where(Problem.slug == slug)
                        .order_by(Problem.version.desc())
                        .limit(1)
                    )
                    created = latest is None or latest.sha256 != sha256
                    if created:
                        problem = Problem(
                            slug=slug,
                            version=1 if latest is None else latest.version + 1,
                            title=dict(title),
                            difficulty=difficulty,
                            tags=list(tags),
                            mode=mode,
                            public=public,
                            student_notebook=student_notebook,
                            case_count=case_count,
                            sha256=sha256,
                            published_at=utcnow(),
                            published_by=user.id,
                        )
                        s.add(problem)
                        await s.flush()
                        s.add(HiddenBundle(problem_id=problem.id, bundle=bundle))
                    else:
                        assert latest is not None
                        problem = latest
                        # publishing again shows an unpublished problem again
                        problem.unpublished_at = None
                    s.add(
                        PublishAudit(
                            user_id=user.id,
                            problem_id=problem.id,
                            slug=slug,
                            version=problem.version,
                            sha256=sha256,
                            created_at=utcnow(),
                        )
                    )
                return PublishedProblem(problem, created)
            except IntegrityError:
                # a concurrent publish took this version number: try the next
                continue
        raise RuntimeError(f"cannot publish {slug!r}: too many concurrent publishes")

    async def publish_problem(self, *, user: User, problem: JudgeProblem) -> PublishedProblem:
        """:meth:`publish` a problem that went through the publish pipeline."""
        meta = problem.meta
        return await self.publish(
            user=user,
            slug=meta.id,
            title=dict(meta.title),
            difficulty=meta.difficulty,
            tags=list(meta.tags),
            mode=meta.mode.value,
            public=problem.public_dict(),
            student_notebook=nbformat.writes(problem.student_notebook()),
            bundle=json.dumps(problem.to_bundle(), ensure_ascii=False),
            case_count=len(problem.cases),
            sha256=problem.sha256,
        )

    async def latest_problems(self, *, unpublished: bool = True) -> list[Problem]:
        """The newest version of every problem, ordered by slug (without ``unpublished``:
        only those students see)."""
        newest = (
            select(Problem.slug, func.max(Problem.version).label("version"))
            .group_by(Problem.slug)
            .subquery()
        )
        query = select(Problem).join(
            newest, and_(Problem.slug == newest.c.slug, Problem.version == newest.c.version)
        )
        if not unpublished:
            query = query.where(Problem.unpublished_at.is_(None))
        async with self.session() as s:
            return list(await s.scalars(query.order_by(Problem.slug)))

    async def set_unpublished(self, slug: str, hidden: bool) -> Problem | None:
        """Hide every version of ``slug`` from students (or show it again); its newest
        version, or ``None`` if there is no such problem. Submissions are kept."""
        async with self.session() as s:
            rows = list(await s.scalars(select(Problem).where(Problem.slug == slug)))
            stamp = utcnow() if hidden else None
            for row in rows:
                if not hidden or row.unpublished_at is None:
                    row.unpublished_at = stamp
            return max(rows, key=lambda row: row.version) if rows else None

    async def get_problem(self, slug: str, version: int | None = None) -> Problem | None:
        """Version ``version`` of ``slug`` (the newest when ``None``), or ``None``."""
        query = select(Problem).where(Problem.slug == slug)
        if version is None:
            query = query.order_by(Problem.version.desc()).limit(1)
        else:
            query = query.where(Problem.version == version)
        async with self.session() as s:
            return await s.scalar(query)

    async def get_problem_by_id(self, problem_id: int) -> Problem | None:
        async with self.session() as s:
            return await s.get(Problem, problem_id)

    async def get_bundle(self, problem_id: int) -> str:
        """The judge bundle (JSON text) of a problem version; raises ``KeyError`` if none."""
        async with self.session() as s:
            row = await s.get(HiddenBundle, problem_id)
            if row is None:
                raise KeyError(problem_id)
            return row.bundle

    async def audit(self) -> list[PublishAudit]:
        async with self.session() as s:
            return list(await s.scalars(select(PublishAudit).order_by(PublishAudit.id)))

    # -- submissions ---------------------------------------------------------

    async def add_submission(
        self,
        *,
        user: User,
        problem: Problem,
        code: str,
        notebook: str | None,
        attach: Callable[[Submission], Iterable[Any]] | None = None,
    ) -> Submission:
        """Commit a new ``queued`` submission and return it (with its id).

        ``attach(submission)`` gives rows stored in the same transaction (what the
        submission counts for in an assignment): both are stored, or neither.
        """
        async with self.session() as s:
            sub = Submission(
                user_id=user.id,
                problem_id=problem.id,
                code=code,
                notebook=notebook,
                status=SubmissionStatus.QUEUED.value,
                attempts=0,
                created_at=utcnow(),
            )
            s.add(sub)
            if attach is not None:
                await s.flush()  # the submission's id, for the attached rows
                s.add_all(list(attach(sub)))
        return sub

    async def get_submission(self, submission_id: int, *, cases: bool = False) -> Submission | None:
        """The submission (with its case results when ``cases``), or ``None``."""
        query = select(Submission).where(Submission.id == submission_id)
        if cases:
            query = query.options(selectinload(Submission.cases))
        async with self.session() as s:
            return await s.scalar(query)

    async def list_submissions(
        self,
        *,
        user_id: int | None = None,
        problem_ids: Sequence[int] | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[Submission]:
        """Newest first, optionally of one user and/or some problem versions."""
        query = select(Submission).order_by(Submission.id.desc()).limit(limit)
        if user_id is not None:
            query = query.where(Submission.user_id == user_id)
        if problem_ids is not None:
            query = query.where(Submission.problem_id.in_(list(problem_ids)))
        if before_id is not None:
            query = query.where(Submission.id < before_id)
        async with self.session() as s:
            return list(await s.scalars(query))

    async def user_names(self, user_ids: Sequence[int]) -> dict[int, str]:
        async with self.session() as s:
            rows = await s.execute(select(User.id, User.name).where(User.id.in_(list(user_ids))))
            return {uid: name for uid, name in rows}

    async def pending_count(self) -> int:
        """Submissions not judged yet (queued or running): the queue's depth."""
        async with self.session() as s:
            return (
                await s.scalar(
                    select(func.count()).where(
                        Submission.status.in_(
                            [SubmissionStatus.QUEUED.value, SubmissionStatus.RUNNING.value]
                        )
                    )
                )
                or 0
            )

    async def status_counts(self) -> dict[str, int]:
        """How many submissions are ``queued`` and ``running`` (both keys always present)."""
        pending = [SubmissionStatus.QUEUED.value, SubmissionStatus.RUNNING.value]
        async with self.session() as s:
            rows = await s.execute(
                select(Submission.status, func.count())
                .where(Submission.status.in_(pending))
                .group_by(Submission.status)
            )
            counts = dict.fromkeys(pending, 0)
            counts.update({status: n for status, n in rows})
            return counts

    async def changed_since(self, since: datetime) -> list[Submission]:
        """Submissions started or finished at or after ``since`` (for events and metrics)."""
        async with self.session() as s:
            return list(
                await s.scalars(
                    select(Submission).where(
                        or_(Submission.finished_at >= since, Submission.started_at >= since)
                    )
                )
            )


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database is unreachable (wait and retry), not a bug."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def _run_upgrade(connection: Connection) -> None:
    config = alembic.config.Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    alembic.command.upgrade(config, "head")
