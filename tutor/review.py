"""Structured code review: model findings under a JSON schema, merged with ruff.

The model is asked for JSON constrained by :data:`REVIEW_SCHEMA` (grammar-constrained
decoding on llama.cpp). Whatever comes back is parsed and validated again here
(:func:`parse_model_findings`); output that is not valid JSON, breaks the schema,
or names a line the code does not have is dropped whole, so malformed model output
never reaches the student. Ruff's findings on the same code are added, duplicates
removed, and the list sorted by line.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import jsonschema

if TYPE_CHECKING:
    from codetutor.tutor.guard import SolutionGuard
    from codetutor.tutor.problems import TutorProblem

SEVERITIES = ("error", "warning", "info")
CATEGORIES = ("correctness", "style", "performance", "readability", "naming", "error-handling")

REVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {
            "type": "array",
            "maxItems": 5,
            "items": {
                "type": "object",
                "properties": {
                    "line": {"type": "integer", "minimum": 1},
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "category": {"type": "string", "enum": list(CATEGORIES)},
                    "message": {"type": "string", "minLength": 1, "maxLength": 240},
                    "hint": {"type": "string", "maxLength": 240},
                },
                "required": ["line", "severity", "category", "message", "hint"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["findings"],
    "additionalProperties": False,
}

_VALIDATOR = jsonschema.Draft202012Validator(REVIEW_SCHEMA)


@dataclass(frozen=True)
class Finding:
    """One review finding, as the student sees it."""

    line: int
    severity: str
    category: str
    message: str
    hint: str
    source: str  # "model" | "ruff"
    code: str = ""  # the ruff rule, for ruff findings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_model_findings(text: str, line_count: int) -> list[Finding] | None:
    """The findings in the model's output, or ``None`` if it is malformed in any way.

    Malformed means: not JSON, not valid for :data:`REVIEW_SCHEMA`, or a finding
    on a line outside ``1..line_count``. Partially valid output is rejected whole.
    """
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not _VALIDATOR.is_valid(data):
        return None
    findings = []
    for item in data["findings"]:
        if not 1 <= item["line"] <= max(1, line_count):
            return None
        findings.append(
            Finding(
                line=item["line"],
                severity=item["severity"],
                category=item["category"],
                message=item["message"].strip(),
                hint=item["hint"].strip(),
                source="model",
            )
        )
    return findings


def finding_text(finding: Finding) -> str:
    """What the student reads of ``finding``, as the guard checks it."""
    return f"{finding.message}\n\n{finding.hint}"


async def guarded_findings(
    guard: SolutionGuard,
    problem: TutorProblem,
    findings: list[Finding],
    *,
    code: str = "",
    earlier: list[str] | tuple[str, ...] = (),
) -> list[Finding]:
    """Coroutine: the ``findings`` the guard lets through, checked together.

    The student reads a review whole: findings that each give nothing away may
    hand over the solution together (one line each). All of them are checked as
    one reply first; when that is withheld, findings are kept in order only while
    everything kept so far still passes the guard.
    """
    if not findings:
        return []
    texts = [finding_text(f) for f in findings]
    whole = await guard.check(problem, "\n\n".join(texts), earlier=earlier, code=code)
    if whole.allowed:
        return list(findings)
    kept: list[Finding] = []
    kept_texts: list[str] = []
    for finding, text in zip(findings, texts, strict=True):
        result = await guard.check(
            problem, "\n\n".join([*kept_texts, text]), earlier=earlier, code=code
        )
        if result.allowed:
            kept.append(finding)
            kept_texts.append(text)
    return kept


def _ruff_category(code: str) -> tuple[str, str]:
    if code.startswith(("F", "E9", "B")):
        return "error" if code.startswith(("F8", "E9", "F6", "F7")) else "warning", "correctness"
    if code.startswith("PERF"):
        return "info", "performance"
    if code.startswith(("N",)):
        return "info", "naming"
    if code.startswith(("SIM", "UP", "C4")):
        return "info", "readability"
    return "info", "style"


async def ruff_findings(code: str, select: str = "E,F,W,B,SIM,PERF,UP,C4") -> list[Finding]:
    """Coroutine: ruff's findings on ``code`` (a snippet, checked in isolation)."""
    from ruff.__main__ import find_ruff_bin

    process = await asyncio.create_subprocess_exec(
        find_ruff_bin(),
        "check",
        "--isolated",
        "--no-cache",
        "--output-format",
        "json",
        "--select",
        select,
        "--ignore",
        "E501,W292,W391",
        "--stdin-filename",
        "submission.py",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate(code.encode())
    try:
        raw = json.loads(stdout or b"[]")
    except ValueError:
        return []
    findings = []
    for item in raw:
        rule = item.get("code") or ""
        severity, category = _ruff_category(rule)
        if rule == "" or item.get("message", "").startswith("SyntaxError"):
            severity, category = "error", "correctness"
        fix = item.get("fix") or {}
        findings.append(
            Finding(
                line=int(item["location"]["row"]),
                severity=severity,
                category=category,
                message=item.get("message", "").strip(),
                hint=(fix.get("message") or "").strip(),
                source="ruff",
                code=rule,
            )
        )
    return findings


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9가-힣]+", " ", text.lower()).strip()


def merge_findings(model: list[Finding], ruff: list[Finding]) -> list[Finding]:
    """Ruff and model findings together: de-duplicated, sorted by line then severity.

    A model finding is a duplicate when ruff reports the same line and category, or
    when another finding on the same line has the same normalised message.
    """
    merged: list[Finding] = []
    seen_messages: set[tuple[int, str]] = set()
    ruff_lines = {(f.line, f.category) for f in ruff}
    for finding in [*ruff, *model]:
        key = (finding.line, _key(finding.message))
        if key in seen_messages:
            continue
        if finding.source == "model" and (finding.line, finding.category) in ruff_lines:
            continue
        seen_messages.add(key)
        merged.append(finding)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(merged, key=lambda f: (f.line, order.get(f.severity, 9), f.source))


def review_messages(code: str, lang: str, statement: str = "") -> list[dict[str, str]]:
    """The chat messages asking the model for a review as JSON."""
    from codetutor.tutor.prompts import numbered

    language = "Korean" if lang == "ko" else "English"
    task = (
        "Review the student's Python code below. Report at most 5 concrete problems as JSON "
        '{"findings": [{"line", "severity", "category", "message", "hint"}]}. '
        "line is the 1-based line number shown. Hints must guide, never contain corrected "
        f"code. Write message and hint in {language}."
    )
    context = f"Problem:\n{statement.strip()}\n\n" if statement.strip() else ""
    return [
        {"role": "system", "content": task},
        {"role": "user", "content": f"{context}Code:\n{numbered(code)}"},
    ]
