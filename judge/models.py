"""Database models of the judge service (SQLAlchemy 2, declarative).

The schema itself is owned by the Alembic migrations in
``codetutor/judge/migrations``; these classes must describe exactly what the
migrations create (a test compares the two on SQLite and PostgreSQL).

Tables:

- ``users``: users mirrored from the Hub by name, created on first request.
- ``problems``: one row per *version* of a problem. Republishing a slug adds a
  new version; submissions keep pointing at the row they were judged against.
- ``hidden_bundles``: the judge's server-side bundle of each problem version
  (hidden tests, expected values, reference solution). Never sent to students.
- ``submissions``: code or notebook, queue state (status, lease), verdict,
  score, timings and attempt count.
- ``case_results``: per-case outcome of a judged submission.
- ``publish_audit``: who published what, when.
- ``courses``, ``assignments``, ``extensions``, ``exam_sessions``,
  ``assignment_submissions``: courses and their assignments (schedule and late
  policy, :mod:`codetutor.judge.policy`), per-student extensions, exam starts,
  and which submission counted for which assignment (with its exam receipt).
- ``similarity_reports``: comparisons of the class's submissions (similar work),
  written by a judge worker's similarity job, read by the dashboard.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .policy import LatePolicy


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only kind stored)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC timestamp that reads back timezone-aware on every database.

    SQLite has no time zones: values are stored there as naive UTC, and
    comparisons in SQL (lease expiry) stay correct because every value is UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use codetutor.judge.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SubmissionStatus(enum.StrEnum):
    """Where a submission is in the queue.

    ``queued`` -> ``running`` (a worker holds its lease) -> ``judged`` (a
    verdict is stored; final). A ``running`` submission whose lease expired is
    claimable again, which gives at-least-once delivery.
    """

    QUEUED = "queued"
    RUNNING = "running"
    JUDGED = "judged"


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Problem(Base):
    __tablename__ = "problems"
    __table_args__ = (UniqueConstraint("slug", "version", name="uq_problems_slug_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict[str, str]] = mapped_column(JSON)
    difficulty: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSON)
    mode: Mapped[str] = mapped_column(String(16))
    #: the student's view of the problem (``Problem.public_dict``)
    public: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the student notebook, nbformat JSON text
    student_notebook: Mapped[str] = mapped_column(Text)
    case_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: when an instructor hid the problem from students (on every version of the slug;
    #: its submissions stay); ``None`` while it is published
    unpublished_at: Mapped[datetime | None] = mapped_column(nullable=True, default=None)

    bundle: Mapped[HiddenBundle] = relationship(back_populates="problem", lazy="raise")


class HiddenBundle(Base):
    __tablename__ = "hidden_bundles"

    problem_id: Mapped[int] = mapped_column(
        ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True
    )
    #: the judge bundle (``Problem.to_bundle``), JSON text
    bundle: Mapped[str] = mapped_column(Text)

    problem: Mapped[Problem] = relationship(back_populates="bundle", lazy="raise")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_status_created", "status", "created_at"),
        Index("ix_submissions_user_created", "user_id", "created_at"),
        Index("ix_submissions_finished", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"))
    #: the student's code as submitted (a .py text, or the notebook's code cells)
    code: Mapped[str] = mapped_column(Text)
    #: the submitted notebook, nbformat JSON text (None for code submissions)
    notebook: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=SubmissionStatus.QUEUED.value)
    verdict: Mapped[str | None] = mapped_column(String(32), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: the judge's own time for the verdict (sum over cases and setup)
    time_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: how many times a worker claimed it (more than 1 after a lost worker)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: random token of the claim that currently holds the submission
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: the full result for instructors (``JudgeResult.to_dict("instructor")``)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    cases: Mapped[list[CaseResult]] = relationship(
        back_populates="submission", lazy="raise", order_by="CaseResult.position"
    )


class CaseResult(Base):
    __tablename__ = "case_results"
    __table_args__ = (
        UniqueConstraint("submission_id", "position", name="uq_case_results_submission_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    visibility: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    time_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: everything else the judge reported about the case (instructors only
    #: for hidden cases)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)

    submission: Mapped[Submission] = relationship(back_populates="cases", lazy="raise")


class PublishAudit(Base):
    __tablename__ = "publish_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"))
    slug: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Course(Base):
    """A course: its members are the Hub groups ``course:<slug>:instructors|students``."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    #: the problem slugs this course chose, in order (problems are shared by courses)
    problems: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assignment(Base):
    """Ordered problems with points, a schedule and a late policy (a :class:`~.policy.Schedule`)."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("course_id", "slug", name="uq_assignments_course_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime] = mapped_column()
    #: :meth:`~.policy.LatePolicy.to_dict`
    late_policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: after the close: ``refuse`` submissions, or take them as ``practice`` (no credit)
    after_close: Mapped[str] = mapped_column(String(16))
    #: an exam: each student's window lasts this long from their start
    exam_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: ``[{"problem": slug, "points": number}, ...]`` in order
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def policy(self) -> LatePolicy:
        return LatePolicy.from_dict(self.late_policy)


class Extension(Base):
    """One student's own due time and/or time multiplier on one assignment."""

    __tablename__ = "extensions"
    __table_args__ = (
        UniqueConstraint("assignment_id", "user_id", name="uq_extensions_assignment_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    time_multiplier: Mapped[float] = mapped_column(Float)


class ExamSession(Base):
    """When a student started an exam (their window runs from here)."""

    __tablename__ = "exam_sessions"
    __table_args__ = (
        UniqueConstraint("assignment_id", "user_id", name="uq_exam_sessions_assignment_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column()


class AssignmentSubmission(Base):
    """A submission made for an assignment: when (the course clock), its credit then, receipt."""

    __tablename__ = "assignment_submissions"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    problem: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column()
    #: :func:`~.policy.credit` when it was submitted (the gradebook computes it again)
    credit: Mapped[float] = mapped_column(Float)
    #: taken after the close for practice only
    practice: Mapped[bool] = mapped_column(Boolean)
    #: exams: SHA-256 of the submitted notebook (or code), shown to the student
    receipt: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LTILink(Base):
    """A resource link of an LMS course (LTI 1.3) and the AGS line item its grades go to.

    Written at each launch (``codetutor.hub.lti``); read by grade passback
    (``codetutor.judge.lti``). ``problem`` or ``assignment`` says what the link
    opens: it was chosen by an instructor through deep linking and comes back
    in every launch as a custom parameter.
    """

    __tablename__ = "lti_links"
    __table_args__ = (
        UniqueConstraint("issuer", "resource_link_id", name="uq_lti_links_issuer_resource_link"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(String(255))
    #: the LMS course (``context.id``) and the Code Tutor course it maps to
    context_id: Mapped[str] = mapped_column(String(255))
    course: Mapped[str] = mapped_column(String(64), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    problem: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    assignment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: AGS: the line item scores are posted to, the course's line items, granted scopes
    lineitem_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    lineitems_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    ags_scopes: Mapped[list[str]] = mapped_column(JSON)
    #: NRPS: the course's membership (roster) URL
    memberships_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LTIContext(Base):
    """An LMS course (LTI ``context``) and where its roster is (NRPS); written at each launch."""

    __tablename__ = "lti_contexts"
    __table_args__ = (
        UniqueConstraint("issuer", "context_id", name="uq_lti_contexts_issuer_context"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255))
    course: Mapped[str] = mapped_column(String(64), index=True)
    memberships_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LTIAccount(Base):
    """A Hub user's identity at an LMS (``sub``) and the LMS courses they are in."""

    __tablename__ = "lti_accounts"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_lti_accounts_issuer_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(String(255), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    #: LMS ``context.id`` values the user launched from or is on the roster of
    contexts: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LTIScore(Base):
    """A grade sent to an LMS (AGS), or the attempt that failed: the passback's record."""

    __tablename__ = "lti_scores"
    __table_args__ = (Index("ix_lti_scores_link_user", "link_id", "user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("lti_links.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(String(255))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), nullable=True
    )
    score_given: Mapped[float] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    #: ``sent`` or ``failed`` (then ``error`` says why)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SimilarityReport(Base):
    """A comparison of the class's submissions (``codetutor.insight.similarity_report``).

    Written by a judge worker's similarity job (or the dashboard on demand); the
    dashboard shows the newest. ``signature`` is the judged-submissions signature it
    was made from, ``report`` its JSON text (pairs, clusters, compared code).
    """

    __tablename__ = "similarity_reports"
    __table_args__ = (Index("ix_similarity_reports_created", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    signature: Mapped[str] = mapped_column(String(255))
    seconds: Mapped[float] = mapped_column(Float)
    report: Mapped[str] = mapped_column(Text)
