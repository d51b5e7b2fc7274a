"""What a problem notebook tells the tutor, never the student: the instructor's
``hints`` cell (:class:`ProblemHints`, a ko/en ladder and notes per case) and the
tutor's settings in ``metadata.codetutor.tutor`` (:class:`TutorSettings`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .cases import MAX_CASE_NAME
from .exceptions import ProblemError

_HINTS_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_HINTS_CASE_RE = re.compile(r"^case:\s*(?P<name>.+)$", re.I)
_HINTS_ITEM_RE = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+(?P<text>.*)$")
_HINTS_LANG_ITEM_RE = re.compile(r"^\s*(?:[-*+]\s+)?(?P<lang>en|ko)\s*:\s*(?P<text>.*)$", re.I)
HINT_LANGUAGES = ("en", "ko")


@dataclass
class ProblemHints:
    """The instructor's hints (a markdown cell tagged ``hints``; SPEC section 3).

    ``ladder`` maps a language to rungs, gentlest first; ``cases`` maps a case
    name to a note per language. Hints are never in the student notebook: the
    tutor gives them one rung at a time.
    """

    ladder: dict[str, list[str]] = field(default_factory=dict)
    cases: dict[str, dict[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.ladder or self.cases)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ladder": {k: list(v) for k, v in self.ladder.items()},
            "cases": {k: dict(v) for k, v in self.cases.items()},
        }

    @classmethod
    def parse(cls, source: str, index: int | None = None) -> ProblemHints:
        """Parse a hints cell. Raises :class:`ProblemError` naming the line.

        Format: ``## en`` / ``## ko`` sections holding a numbered or bulleted list
        (one rung per item; indented lines continue an item), and ``## case: NAME``
        sections holding ``en: …`` / ``ko: …`` lines. Text before the first
        heading is ignored (a note for instructors).
        """
        hints = cls()
        section: str | None = None
        case: str | None = None
        last: tuple[str, str] | None = None  # (lang, "ladder" | case) of the open item
        for lineno, raw in enumerate(source.splitlines(), 1):
            line = raw.rstrip()
            heading = _HINTS_HEADING_RE.match(line)
            if heading:
                title = heading.group("title").strip()
                found = _HINTS_CASE_RE.match(title)
                if found:
                    case = found.group("name").strip()
                    if not case or len(case) > MAX_CASE_NAME:
                        raise ProblemError(
                            "a hint's case name is empty or too long", cell=index, line=lineno
                        )
                    section = None
                    hints.cases.setdefault(case, {})
                elif title.lower() in HINT_LANGUAGES:
                    section, case = title.lower(), None
                    hints.ladder.setdefault(section, [])
                else:
                    raise ProblemError(
                        f"unknown hints heading {title!r}; use '## en', '## ko' or '## case: NAME'",
                        cell=index,
                        line=lineno,
                    )
                last = None
                continue
            if not line.strip():
                continue
            if case is not None:
                found = _HINTS_LANG_ITEM_RE.match(line)
                if found:
                    lang = found.group("lang").lower()
                    hints.cases[case][lang] = found.group("text").strip()
                    last = (lang, case)
                elif last is not None and raw[:1].isspace():
                    hints.cases[case][last[0]] += " " + line.strip()
                else:
                    raise ProblemError(
                        f"a note for case {case!r} is a line 'en: …' or 'ko: …'",
                        cell=index,
                        line=lineno,
                    )
            elif section is not None:
                item = _HINTS_ITEM_RE.match(line)
                if item:
                    hints.ladder[section].append(item.group("text").strip())
                    last = (section, "ladder")
                elif last is not None:
                    hints.ladder[section][-1] += " " + line.strip()
                else:
                    raise ProblemError(
                        "a hint is a list item ('1. …' or '- …')", cell=index, line=lineno
                    )
        for case_name, notes in hints.cases.items():
            if not notes:
                raise ProblemError(f"case {case_name!r} has no note in the hints cell", cell=index)
        hints.ladder = {k: v for k, v in hints.ladder.items() if v}
        return hints


@dataclass(frozen=True)
class TutorSettings:
    """The instructor's controls of the tutor on one problem: ``metadata.codetutor.tutor``.

    ``{"enabled": false}`` turns the tutor off (exam practice); ``context`` is told
    to the tutor (a string, or ``{"ko": ..., "en": ...}``); ``avoid`` lists words
    and phrases the tutor's replies must not use. Only the tutor sees these
    (its problem view); they are never in the student's notebook or problem list.
    """

    enabled: bool = True
    context: dict[str, str] = field(default_factory=dict)
    avoid: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "context": dict(self.context), "avoid": list(self.avoid)}

    @classmethod
    def parse(cls, raw: Any) -> TutorSettings:
        """Validate ``metadata.codetutor.tutor``; raise :class:`ProblemError` naming the key."""
        if raw is None:
            return cls()
        where = "metadata.codetutor.tutor"
        if not isinstance(raw, dict):
            raise ProblemError(
                f'{where} must be an object like {{"enabled": false, "context": "...", '
                f'"avoid": ["..."]}}'
            )
        unknown = set(raw) - {"enabled", "context", "avoid"}
        if unknown:
            raise ProblemError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ProblemError(f"{where}.enabled must be true or false, got {enabled!r}")
        context = raw.get("context", "")
        if isinstance(context, str):
            contexts = {"en": context.strip()} if context.strip() else {}
        elif isinstance(context, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in context.items()
        ):
            contexts = {k: v.strip() for k, v in context.items() if v.strip()}
        else:
            raise ProblemError(
                f'{where}.context must be a string or an object like {{"ko": "...", "en": "..."}}'
            )
        if any(len(v) > 4000 for v in contexts.values()):
            raise ProblemError(f"{where}.context must be at most 4000 characters")
        avoid = raw.get("avoid", [])
        if (
            not isinstance(avoid, list)
            or len(avoid) > 100
            or not all(isinstance(w, str) and 0 < len(w.strip()) <= 100 for w in avoid)
        ):
            raise ProblemError(
                f"{where}.avoid must be a list of at most 100 non-empty words or phrases "
                "(at most 100 characters each)"
            )
        return cls(enabled=enabled, context=contexts, avoid=tuple(w.strip() for w in avoid))
