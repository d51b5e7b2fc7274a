"""The record of tutor conversations that instructors read (the class dashboard).

:class:`~codetutor.tutor.memory.ChatMemory` keeps what the *model* needs (the last
few turns, expiring); instructors need the whole conversation of their class on a
problem, kept as long as the course. So every turn the tutor remembers is also
appended here, to a database of its own (``Transcripts.url``: SQLite for one
machine, PostgreSQL in production; the table is created on first use), which the
class dashboard (``codetutor dashboard``, instructors only) reads with the same
setting. The tutor never reads the judge's database, and the judge never sees
these. Empty ``url`` (the default, unless ``CODETUTOR_TRANSCRIPTS_URL`` is set):
nothing is recorded, and the dashboard says so.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from traitlets import Integer as IntegerTrait
from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable

_METADATA = MetaData()
MESSAGES = Table(
    "tutor_messages",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("user", String(255), nullable=False),
    Column("problem", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Index("tutor_messages_problem_user", "problem", "user", "id"),
)


class Transcripts(LoggingConfigurable):
    """Every tutor turn, per problem and student (see the module docstring)."""

    url = Unicode(
        help="""Database of the tutor's conversations, read by the class dashboard:
        sqlite:///PATH or postgresql://... (the same on the tutor and the dashboard).
        Default: CODETUTOR_TRANSCRIPTS_URL; empty: conversations are not recorded.""",
    ).tag(config=True)

    @default("url")
    def _default_url(self) -> str:
        import os

        return os.environ.get("CODETUTOR_TRANSCRIPTS_URL", "")

    max_chars = IntegerTrait(
        8000, help="Characters of one message kept (longer ones are cut)."
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._engine: AsyncEngine | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    async def engine(self) -> AsyncEngine:
        """Coroutine: the database engine, the table created on first use."""
        if self._engine is None:
            url = make_url(self.url)
            if url.get_backend_name() == "sqlite":
                url = url.set(drivername="sqlite+aiosqlite")
            elif url.get_backend_name() == "postgresql":
                url = url.set(drivername="postgresql+psycopg")
            else:
                raise ValueError(f"unsupported transcripts database {self.url!r}")
            engine = create_async_engine(url)
            async with engine.begin() as conn:
                await conn.run_sync(_METADATA.create_all)
            self._engine = engine
        return self._engine

    async def close(self) -> None:
        """Coroutine: close the database connections (if opened)."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def record(self, user: str, problem_id: str, messages: list[dict[str, str]]) -> None:
        """Coroutine: append ``messages`` (``{"role", "content"}``) of ``user`` on ``problem_id``.

        Does nothing when not :attr:`enabled`; raises what the database raises.
        """
        if not self.enabled or not messages:
            return
        engine = await self.engine()
        now = time.time()
        async with engine.begin() as conn:
            await conn.execute(
                MESSAGES.insert(),
                [
                    {
                        "at": now,
                        "user": user,
                        "problem": problem_id,
                        "role": m["role"],
                        "content": m["content"][: self.max_chars],
                    }
                    for m in messages
                ],
            )

    async def problems(self) -> list[dict[str, Any]]:
        """Coroutine: ``[{"problem", "students", "messages", "last_at"}]``, newest first."""
        if not self.enabled:
            return []
        engine = await self.engine()
        query = (
            select(
                MESSAGES.c.problem,
                func.count(func.distinct(MESSAGES.c.user)),
                func.count(),
                func.max(MESSAGES.c.at),
            )
            .group_by(MESSAGES.c.problem)
            .order_by(func.max(MESSAGES.c.at).desc())
        )
        async with engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {"problem": p, "students": int(s), "messages": int(n), "last_at": float(at)}
            for p, s, n, at in rows
        ]

    async def conversations(
        self, problem_id: str, limit: int = 2000
    ) -> dict[str, list[dict[str, Any]]]:
        """Coroutine: each student's messages on ``problem_id``, oldest first (the newest ``limit``)."""
        if not self.enabled:
            return {}
        engine = await self.engine()
        query = (
            select(MESSAGES.c.user, MESSAGES.c.role, MESSAGES.c.content, MESSAGES.c.at)
            .where(MESSAGES.c.problem == problem_id)
            .order_by(MESSAGES.c.id.desc())
            .limit(limit)
        )
        async with engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        found: dict[str, list[dict[str, Any]]] = {}
        for user, role, content, at in reversed(rows):
            found.setdefault(user, []).append({"role": role, "content": content, "at": at})
        return dict(sorted(found.items()))
