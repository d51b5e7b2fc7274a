"""Students' work for instructors: submissions with their code, cases, diffs and downloads.

Read from the judge's database (read only, as everything in the dashboard): a
submission's code as the judge ran it (its cells, highlighted like a notebook's), its
per-case results with the hidden cases' details (the test, expected and actual
values), the problem's statement, and the whole class's submissions of one student
or one problem as notebooks in a zip. The pages are :mod:`.submission_pages`.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

import mistune
import nbformat
from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from codetutor.judge.models import Problem, Submission, User
from codetutor.judge.problem import Problem as JudgeProblem
from codetutor.judge.store import Store
from codetutor.judge.submission import Submission as Code

#: the most submissions one list or one download holds (newest first)
MAX_LISTED = 500

#: the viewer's words (the dashboard's own are :data:`.i18n.TEXT`)
TEXT: dict[str, dict[str, str]] = {
    "submissions_of": {"en": "Submissions", "ko": "제출 기록"},
    "download_zip": {"en": "Download as notebooks (zip)", "ko": "노트북으로 내려받기 (zip)"},
    "submission": {"en": "Submission", "ko": "제출"},
    "code": {"en": "Code", "ko": "코드"},
    "cases": {"en": "Test cases", "ko": "테스트 케이스"},
    "case": {"en": "Case", "ko": "케이스"},
    "visibility": {"en": "Visibility", "ko": "공개"},
    "public": {"en": "public", "ko": "공개"},
    "hidden": {"en": "hidden", "ko": "비공개"},
    "status": {"en": "Status", "ko": "상태"},
    "test": {"en": "Test", "ko": "테스트"},
    "expected": {"en": "Expected", "ko": "기대값"},
    "actual": {"en": "Actual", "ko": "실제값"},
    "message": {"en": "Message", "ko": "메시지"},
    "error": {"en": "Error", "ko": "오류"},
    "statement": {"en": "Statement", "ko": "문제 설명"},
    "diff": {"en": "Compare", "ko": "비교"},
    "diff_with": {"en": "Compare with", "ko": "다음과 비교"},
    "diff_title": {"en": "Differences", "ko": "차이"},
    "no_difference": {"en": "The code is the same.", "ko": "코드가 같습니다."},
    "pending": {"en": "Being judged", "ko": "채점 중"},
    "none_found": {"en": "No submissions.", "ko": "제출이 없습니다."},
    "version": {"en": "Version", "ko": "버전"},
    "ms": {"en": "ms", "ko": "ms"},
    "not_tried": {"en": "not tried", "ko": "시도 안 함"},
    "unpublished": {"en": "unpublished", "ko": "비공개됨"},
}


def viewer_words(lang: str) -> dict[str, str]:
    """The viewer's words in ``lang``."""
    return {key: value[lang] for key, value in TEXT.items()}


@dataclass(frozen=True)
class Found:
    """One submission with its problem version and its author's name."""

    row: Submission
    problem: Problem
    user: str


async def list_submissions(
    store: Store, *, user: str | None = None, problem: str | None = None
) -> list[Found]:
    """Coroutine: the submissions of ``user`` and/or ``problem`` (a slug: every
    version), newest first, at most :data:`MAX_LISTED`."""
    query = (
        select(Submission, Problem, User.name)
        .join(Problem, Submission.problem_id == Problem.id)
        .join(User, Submission.user_id == User.id)
        .order_by(Submission.id.desc())
        .limit(MAX_LISTED)
    )
    if user is not None:
        query = query.where(User.name == user)
    if problem is not None:
        query = query.where(Problem.slug == problem)
    async with store.session() as s:
        return [Found(sub, prob, name) for sub, prob, name in (await s.execute(query)).all()]


async def get_submission(store: Store, submission_id: int) -> Found | None:
    """Coroutine: one submission with its case results, or ``None``."""
    query = (
        select(Submission, Problem, User.name)
        .join(Problem, Submission.problem_id == Problem.id)
        .join(User, Submission.user_id == User.id)
        .where(Submission.id == submission_id)
        .options(selectinload(Submission.cases))
    )
    async with store.session() as s:
        found = (await s.execute(query)).first()
    return Found(found[0], found[1], found[2]) if found else None


def code_cells(row: Submission) -> list[str]:
    """The cells the judge ran, as it stored them (one cell for a ``.py`` submission)."""
    return list(Code.from_stored(row.code, row.notebook).cells)


_FORMATTER = HtmlFormatter(nowrap=True)
_LEXER = PythonLexer()


def highlighted(source: str, error_line: int | None = None) -> Markup:
    """``source`` as highlighted HTML lines; ``error_line`` (1-based) marked."""
    html = highlight(source, _LEXER, _FORMATTER) if source else ""
    lines = html.rstrip("\n").split("\n") if html else [""]
    out = []
    for number, line in enumerate(lines, 1):
        mark = ' class="error-line"' if number == error_line else ""
        out.append(f'<span{mark} data-line="{number}">{line}</span>')
    # each line is a block of its own (so that one can be marked): no newlines between
    return Markup("".join(out))


def cases_view(found: Found, bundle: str | None) -> list[dict[str, Any]]:
    """Every case result, hidden ones in full: the test's source (from the problem's
    bundle), expected, actual, message and stdout as the judge reported them."""
    sources: dict[str, str] = {}
    if bundle is not None:
        problem = JudgeProblem.from_bundle(json.loads(bundle))
        sources = {case.name: case.stdin or case.source for case in problem.cases}
    result_cases = (found.row.result or {}).get("cases") or []
    detail_by_name = {c.get("name"): c for c in result_cases if isinstance(c, dict)}
    out = []
    for case in found.row.cases:
        detail = {**case.detail, **detail_by_name.get(case.name, {})}
        out.append(
            {
                "name": case.name,
                "visibility": case.visibility,
                "status": case.status,
                "time_ms": case.time_ms,
                "test": sources.get(case.name),
                "expected": detail.get("expected"),
                "actual": detail.get("actual"),
                "message": detail.get("message"),
                "stdout": detail.get("stdout"),
            }
        )
    return out


def notebook_cells(found: Found) -> list[dict[str, Any]]:
    """The code as the page shows it: per cell, its number and highlighted lines, the
    student's error (syntax or runtime, from the verdict) marked where it happened."""
    error = (found.row.result or {}).get("error") or {}
    error_cell = error.get("cell")
    cells = []
    for index, source in enumerate(code_cells(found.row)):
        line = error.get("line") if index == error_cell else None
        cells.append(
            {
                "number": index + 1,
                "html": highlighted(source, line if isinstance(line, int) else None),
                "error": error if index == error_cell else None,
            }
        )
    return cells


def diff_lines(old: Found, new: Found) -> list[tuple[str, str]]:
    """A unified diff of two submissions' code: ``(kind, text)`` with kind one of
    ``add``, ``del``, ``hunk``, ``context``; empty when the code is the same."""
    before = "\n\n".join(code_cells(old.row)).splitlines()
    after = "\n\n".join(code_cells(new.row)).splitlines()
    out: list[tuple[str, str]] = []
    for line in difflib.unified_diff(
        before, after, f"#{old.row.id}", f"#{new.row.id}", lineterm="", n=3
    ):
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "context")
        out.append((kind, line))
    return out


def statement_of(problem: Problem) -> str:
    """The problem statement (markdown text) as students saw it."""
    statement = problem.public.get("statement")
    return statement if isinstance(statement, str) else ""


_MARKDOWN = mistune.create_markdown(escape=True)


def statement_html(problem: Problem) -> Markup:
    """The statement rendered as students see it (markdown; any HTML in it escaped)."""
    return Markup(_MARKDOWN(statement_of(problem)))


def as_notebook(found: Found) -> nbformat.NotebookNode:
    """A submission as a notebook: the statement, a summary of the verdict, the cells run."""
    row = found.row
    nb = nbformat.v4.new_notebook()
    nb.metadata["codetutor"] = {
        "id": found.problem.slug,
        "version": found.problem.version,
        "submission": {
            "id": row.id,
            "user": found.user,
            "verdict": row.verdict,
            "score": row.score,
            "time_ms": row.time_ms,
            "created_at": row.created_at.isoformat(),
        },
    }
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    score = f"{row.score * 100:.0f}%" if row.score is not None else "-"
    summary = (
        f"**{found.user}** · submission #{row.id} · {row.created_at:%Y-%m-%d %H:%M} UTC · "
        f"{row.verdict or row.status} · {score}"
    )
    nb.cells = [nbformat.v4.new_markdown_cell(summary)]
    statement = statement_of(found.problem)
    if statement:
        nb.cells.append(nbformat.v4.new_markdown_cell(statement, metadata={"tags": ["statement"]}))
    nb.cells += [nbformat.v4.new_code_cell(source) for source in code_cells(row)]
    return nb


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(name: str) -> str:
    """``name`` as a file name inside a zip (no separators, no dots first)."""
    return _UNSAFE.sub("_", name).lstrip(".") or "_"


def submissions_zip(found: list[Found]) -> bytes:
    """Each submission as ``PROBLEM/USER-ID.ipynb`` in a zip (deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in found:
            name = f"{safe_name(item.problem.slug)}/{safe_name(item.user)}-{item.row.id}.ipynb"
            archive.writestr(name, nbformat.writes(as_notebook(item)))
    return buffer.getvalue()


def escape_text(value: Any) -> Markup:
    """A value for an HTML ``<pre>`` (escaped; ``None`` as empty)."""
    return escape("" if value is None else str(value))
