"""What the extension does to a student's notebook, without HTTP.

- :func:`localize`: a bilingual problem notebook with the student's language
  first (the statement cell in that language before the other one, and each
  ``# 한국어 / English`` comment of the starter in that order).
- :func:`strip_outputs`: a notebook without its outputs, as it is submitted
  (the judge never reads outputs; a debug loop's output can be megabytes).
- :func:`backup_path`: where a notebook is kept before it is reset to its starter.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Awaitable, Callable
from typing import Any

from codetutor.judge.exceptions import SubmissionError
from codetutor.judge.submission import Submission

from .exceptions import ExtensionError


def problem_id_of(nb: dict[str, Any]) -> str | None:
    """The problem id a notebook says it belongs to (``metadata.codetutor.id``)."""
    meta = nb.get("metadata", {}).get("codetutor", {})
    value = meta.get("id") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


def student_code(nb: dict[str, Any]) -> str:
    """The code the judge would run from ``nb`` (its code cells except tests); 400 if none."""
    try:
        return Submission.from_notebook(nb).source
    except SubmissionError as e:
        raise ExtensionError(400, e.message) from None


#: the languages a problem notebook is written in
LANGUAGES = ("en", "ko")

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LETTER = re.compile(r"[A-Za-z\uac00-\ud7a3\u3131-\u318e]")
# "# 여기에 코드를 작성하세요 / write your code here": a comment with two halves
_TWO_LANGUAGE_COMMENT = re.compile(
    r"^(?P<lead>\s*#\s*)(?P<first>[^/]+?)\s+/\s+(?P<second>[^/]+?)\s*$"
)


def language_of_text(text: str) -> str:
    """``ko`` when most letters of ``text`` are Hangul, else ``en``."""
    letters = _LETTER.findall(text)
    if not letters:
        return "en"
    hangul = sum(1 for c in letters if _HANGUL.match(c))
    return "ko" if hangul * 2 >= len(letters) else "en"


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: dict[str, Any]) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _comment_in(line: str, lang: str) -> str:
    """``line`` with the half of a two-language comment in ``lang`` first."""
    found = _TWO_LANGUAGE_COMMENT.match(line)
    if not found:
        return line
    first, second = found.group("first"), found.group("second")
    first_lang, second_lang = language_of_text(first), language_of_text(second)
    if first_lang == second_lang or first_lang == lang:
        return line
    return f"{found.group('lead')}{second} / {first}"


def localize(nb: dict[str, Any], lang: str) -> dict[str, Any]:
    """A copy of ``nb`` with the statement and starter comments in ``lang`` first.

    Statement cells (tag ``statement``) keep their places in the notebook; the
    ones written in ``lang`` take the first of those places, in their order.
    Comments of ``starter`` cells that read ``# one language / the other`` are
    turned around when ``lang`` is the second. Nothing else changes; a notebook
    with one statement is returned as it was. Raises ValueError for another ``lang``.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}")
    out = copy.deepcopy(nb)
    cells: list[dict[str, Any]] = out.get("cells", [])
    places = [i for i, cell in enumerate(cells) if "statement" in _tags(cell)]
    statements = [cells[i] for i in places]
    ordered = sorted(statements, key=lambda c: language_of_text(_source(c)) != lang)
    for place, cell in zip(places, ordered, strict=True):
        cells[place] = cell
    for cell in cells:
        if cell.get("cell_type") == "code" and "starter" in _tags(cell):
            lines = _source(cell).split("\n")
            cell["source"] = "\n".join(_comment_in(line, lang) for line in lines)
    return out


def strip_outputs(nb: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A copy of ``nb`` without outputs and execution counts, and how many outputs went."""
    out = copy.deepcopy(nb)
    removed = 0
    for cell in out.get("cells", []):
        if cell.get("cell_type") == "code":
            outputs = cell.get("outputs")
            removed += len(outputs) if isinstance(outputs, list) else 0
            cell["outputs"] = []
            cell["execution_count"] = None
    return out, removed


async def backup_path(path: str, exists: Callable[[str], Awaitable[bool]]) -> str:
    """Coroutine: a free name next to ``path`` for its old copy, ``NAME (before reset N).ipynb``."""
    folder, name = posixpath.split(path)
    stem, ext = posixpath.splitext(name)
    for number in range(1, 10_000):
        candidate = posixpath.join(folder, f"{stem} (before reset {number}){ext}")
        if not await exists(candidate):
            return candidate
    raise ValueError(f"too many old copies of {path}")
