"""The similarity engine on a fixed labelled set (tests/files/similarity), and its steps.

Each folder of the set is a problem: its student notebook (statement, starter, public
tests), the reference solution, an independent accepted solution, and copies of the
reference disguised as ``bench/similarity_disguise.py`` does (renamed, Korean names,
reordered, dead code and comments, loop forms, all at once), frozen as files.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest

from codetutor.errors import CodeTutorError
from codetutor.insight import similarity as sim
from codetutor.insight.similarity_report import compare_problem, read_archive

SET = Path(__file__).parent.parent / "files" / "similarity"
PROBLEMS = sorted(p.name for p in SET.iterdir() if p.is_dir())


def load(problem: str) -> tuple[dict[str, str], dict[str, object]]:
    folder = SET / problem
    codes = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py"))}
    return codes, json.loads((folder / "student.ipynb").read_text(encoding="utf-8"))


def scores(problem: str) -> dict[frozenset[str], float]:
    codes, notebook = load(problem)
    report = compare_problem(problem, {}, "function", notebook, codes, {}, threshold=0.01)
    return {frozenset((p["a"], p["b"])): p["score"] for p in report.pairs}


@pytest.mark.parametrize("problem", PROBLEMS)
def test_disguised_copies_are_found_and_independent_solutions_are_not(problem: str) -> None:
    found = scores(problem)
    codes, _ = load(problem)
    copies = [k for k in codes if k.startswith("copy_")]
    assert len(copies) == 6
    # one disguise at a time is always found; all at once is left to the recall below
    for copy in (c for c in copies if c != "copy_all"):
        score = found.get(frozenset(("reference", copy)), 0.0)
        assert score >= sim.DEFAULT_THRESHOLD, (problem, copy, score)
    for other in ["reference", *copies]:
        score = found.get(frozenset(("independent", other)), 0.0)
        assert score < sim.DEFAULT_THRESHOLD, (problem, other, score)


def test_the_set_as_a_whole_meets_the_goals() -> None:
    """Recall of copies >= 0.9 and no independent pair flagged, over every problem."""
    flagged = copies = false = independent = 0
    for problem in PROBLEMS:
        found = scores(problem)
        codes, _ = load(problem)
        for a, b in combinations(sorted(codes), 2):
            score = found.get(frozenset((a, b)), 0.0)
            if "independent" in (a, b):
                independent += 1
                false += score >= sim.DEFAULT_THRESHOLD
            else:
                copies += 1
                flagged += score >= sim.DEFAULT_THRESHOLD
    assert flagged / copies >= 0.9 and false == 0 and independent == 7 * len(PROBLEMS)


def test_comments_whitespace_names_and_literals_do_not_count() -> None:
    one = "def f(xs):\n    total = 0\n    for x in xs:\n        total += x * 2\n    return total\n"
    two = (
        "# sum it\ndef f(values):  # doubled\n\n    합계 = 10\n"
        "    for v in values:\n        합계   +=   v * 3   # more\n    return 합계\n"
    )
    assert [t.symbol for t in sim.normalize(one)] == [t.symbol for t in sim.normalize(two)]
    # the normalized tokens point back into the original text
    token = sim.normalize(two)[-2]
    assert two[token.start : token.end] == "합계"


def test_loop_headers_and_dead_code_are_set_aside() -> None:
    loop = "def f(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"
    other = (
        "def f(n):\n    '''doc'''\n    s = 0\n    while i < n:\n        s += i\n    return s\n"
        "    print('never')\n\ndef unused():\n    return 1\n\nif False:\n    f(3)\n"
    )
    assert [t.symbol for t in sim.normalize(loop, keep={"f"})] == [
        t.symbol for t in sim.normalize(other, keep={"f"})
    ]


def test_the_starter_code_and_the_examples_are_excluded() -> None:
    _codes, notebook = load("two-sum")
    boilerplate, keep = sim.notebook_boilerplate(notebook)
    assert keep == {"two_sum"}
    assert any("two_sum([8, 3, 5, 2], 10)" in b for b in boilerplate)
    # two students who only pasted the starter and the statement's examples share nothing
    starter = "def two_sum(nums, target):\n    pass\n\ntwo_sum([8, 3, 5, 2], 10)\n"
    examples = starter + "two_sum([4, 9, 1, 6], 10)\ntwo_sum([1, 2], 7)\n"
    report = compare_problem(
        "two-sum", {}, "function", notebook, {"a": examples, "b": examples}, {}, 0.01
    )
    assert report.pairs == []


def test_clusters_of_three_or_more() -> None:
    codes, notebook = load("coin-change")
    chosen = {
        "minji": codes["reference"],
        "joon": codes["copy_rename"],
        "yuna": codes["copy_korean"],
        "alex": codes["independent"],
    }
    report = compare_problem("coin-change", {}, "function", notebook, chosen, {}, 0.75)
    assert report.clusters == [["joon", "minji", "yuna"]]
    assert {frozenset((p["a"], p["b"])) for p in report.pairs} == {
        frozenset(("minji", "joon")),
        frozenset(("minji", "yuna")),
        frozenset(("joon", "yuna")),
    }
    top = report.pairs[0]
    # matching regions are character ranges of each original text
    for key, regions in ((top["a"], top["regions_a"]), (top["b"], top["regions_b"])):
        assert regions and all(0 <= s < e <= len(chosen[key]) for s, e in regions)


def test_the_archive_of_earlier_terms(tmp_path: Path) -> None:
    codes, notebook = load("word-frequency")
    term = tmp_path / "word-frequency" / "2025-fall"
    term.mkdir(parents=True)
    (term / "old1.py").write_text(codes["reference"], encoding="utf-8")
    (term / "old2.py").write_text(codes["copy_loops"], encoding="utf-8")
    archive = read_archive(str(tmp_path))
    assert sorted(archive["word-frequency"]) == [
        "archive/word-frequency/2025-fall/old1",
        "archive/word-frequency/2025-fall/old2",
    ]
    report = compare_problem(
        "word-frequency",
        {},
        "function",
        notebook,
        {"minji": codes["copy_rename"], "alex": codes["independent"]},
        archive["word-frequency"],
        sim.DEFAULT_THRESHOLD,
    )
    pairs = {frozenset((p["a"], p["b"])) for p in report.pairs}
    # compared with this term, never with each other
    assert frozenset(("minji", "archive/word-frequency/2025-fall/old1")) in pairs
    assert not any(all(k.startswith("archive/") for k in p) for p in pairs)
    assert not any("alex" in p for p in pairs)


def test_a_bad_archive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CodeTutorError, match="not a directory") as raised:
        read_archive(str(tmp_path / "missing"))
    assert raised.value.status == 400
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x.py").write_bytes(b"\xff\xfe bad")
    with pytest.raises(CodeTutorError, match="cannot read"):
        read_archive(str(tmp_path))


def test_code_that_does_not_parse_is_still_compared() -> None:
    broken = "def f(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return (total\n"
    assert len(sim.normalize(broken)) > 10
