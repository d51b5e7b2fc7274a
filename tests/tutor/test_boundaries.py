"""The tutor's one door into the judge: it imports nothing from judge/ but data types.

Problems, last verdicts and guard jobs come from the judge service
(:mod:`codetutor.tutor.problems`); the judge's code, its database and its
sandboxes stay out of the tutor's process. The in-process judge of the CLI and
tests (:mod:`codetutor.judge.local`) is chosen by configuration, not imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import codetutor.tutor

#: the tutor package's folder, wherever it is installed from (tutor/ in a checkout)
TUTOR = Path(codetutor.tutor.__file__).resolve().parent
MODULES = sorted(TUTOR.glob("*.py"))

#: judge modules that are plain data types the tutor may share (none needed today)
ALLOWED = frozenset({"codetutor.judge.verdict", "codetutor.judge.values"})


def judge_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import of ``codetutor.judge…`` in ``path``, nested ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside codetutor.tutor
                continue
            base = node.module or ""
            modules = [base] if base != "codetutor" else [f"codetutor.{a.name}" for a in node.names]
            if base == "codetutor.judge":
                modules = [f"codetutor.judge.{a.name}" for a in node.names]
        else:
            continue
        found += [
            (node.lineno, module)
            for module in modules
            if module == "codetutor.judge" or module.startswith("codetutor.judge.")
        ]
    return sorted(found)


def test_every_tutor_module_is_checked() -> None:
    assert {"tutor.py", "guard.py", "problems.py", "service.py"} <= {p.name for p in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_the_tutor_imports_no_judge_code(path: Path) -> None:
    wrong = [f"{path.name}:{line} {m}" for line, m in judge_imports(path) if m not in ALLOWED]
    assert not wrong, f"the tutor imports the judge's code: {wrong}"


def test_the_check_finds_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import codetutor.judge.store\n"
        "from codetutor.judge import problem\n"
        "from codetutor import judge\n"
        "def f():\n    from codetutor.judge.sandbox import Sandbox\n"
        "from codetutor.judge.verdict import Verdict\n"
        "from . import prompts\n"
    )
    assert [m for _, m in judge_imports(sample)] == [
        "codetutor.judge.store",
        "codetutor.judge.problem",
        "codetutor.judge",
        "codetutor.judge.sandbox",
        "codetutor.judge.verdict",
    ]
