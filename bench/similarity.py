"""Similarity detection on a labelled set built from ``notebooks/``, and a class of 300 x 20.

The labelled set, per problem:

- **independent solutions**: the reference solution, ``submissions/accepted.py``, and
  the variants written for this bench in ``bench/similarity_variants/PROBLEM/*.py``;
- **disguised copies** of each (``bench/similarity_disguise.py``): renamed, renamed
  into Korean, functions reordered, dead code and comments added, loop forms changed,
  padding the normalizer does not look for (values computed and never read, a helper
  whose result is thrown away), and all of these at once.

Pairs of the same problem are labelled *copy* when both come from one solution and
*independent* otherwise (a disguised copy of the reference and ``accepted.py`` are an
independent pair). Reported at the default threshold: precision and recall (over
original-vs-disguise pairs, and over every copy pair), false pairs per 1,000
independent pairs (same problem; and across problems), and the recall each engine
reaches while holding false pairs at 1 per 1,000 (its own best threshold), for:

- ``ours``: :mod:`codetutor.insight.similarity` (our tokens, copydetect's winnowing);
- ``copydetect``: copydetect 0.5 as it ships (its Pygments filter, k = 25 characters,
  window 6; score: the larger of its two similarities, its report's rule);
- ``compare50``: CS50's compare50 ``structure`` pass (k = 25, t = 35), when installed
  (it is not a dependency: ``pip install compare50`` into another environment and
  put it on ``PYTHONPATH``); its score is a count of matching fingerprints, divided
  here by the smaller submission's fingerprint count.

Then the time to compare a class of 300 students x 20 problems (each student's code
one of the problem's solutions or disguises, renamed afresh), with our engine.

    .venv/bin/python bench/similarity.py [--students 300] [--problems 20]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from similarity_disguise import DISGUISES, rename  # noqa: E402

from codetutor.insight import similarity as sim  # noqa: E402

VARIANTS = ROOT / "bench" / "similarity_variants"


def load_problem(folder: Path) -> dict[str, Any]:
    """A problem's boilerplate, entry names and independent solutions (name -> code)."""
    nb = json.loads((folder / "problem.ipynb").read_text(encoding="utf-8"))
    solutions: dict[str, str] = {}
    student_cells = []
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if "solution" in tags:
            solutions["reference"] = source
        elif "hidden-tests" not in tags and "hints" not in tags:
            student_cells.append(cell)
    accepted = folder / "submissions" / "accepted.py"
    if accepted.exists():
        solutions["accepted"] = accepted.read_text(encoding="utf-8")
    for variant in sorted((VARIANTS / folder.name).glob("*.py")):
        solutions[variant.stem] = variant.read_text(encoding="utf-8")
    boilerplate, keep = sim.notebook_boilerplate({"cells": student_cells})
    return {"slug": folder.name, "boilerplate": boilerplate, "keep": keep, "solutions": solutions}


def labelled_set(seed: int = 7) -> list[dict[str, Any]]:
    """Every problem with its entries ``(origin, disguise, code)``."""
    rng = random.Random(seed)
    problems = []
    for folder in sorted((ROOT / "notebooks").iterdir()):
        if not (folder / "problem.ipynb").exists():
            continue
        problem = load_problem(folder)
        entries = []
        for origin, code in problem["solutions"].items():
            entries.append((origin, "original", code))
            for name, disguise in DISGUISES.items():
                try:
                    entries.append((origin, name, disguise(code, set(problem["keep"]), rng)))
                except SyntaxError:
                    continue
        problem["entries"] = entries
        problems.append(problem)
    return problems


Scorer = Callable[[dict[str, Any]], list[tuple[int, int, float]]]


def score_ours(problem: dict[str, Any]) -> list[tuple[int, int, float]]:
    alphabet = sim.Alphabet()
    boiler = sim.boilerplate_hashes(problem["boilerplate"], alphabet, keep=problem["keep"])
    prints = [
        sim.Fingerprint.of(str(i), code, alphabet, boilerplate=list(boiler), keep=problem["keep"])
        for i, (_o, _d, code) in enumerate(problem["entries"])
    ]
    out = []
    for i, j in combinations(range(len(prints)), 2):
        a, b = prints[i], prints[j]
        too_short = min(len(a.tokens), len(b.tokens)) < sim.MIN_TOKENS
        out.append((i, j, 0.0 if too_short else sim.compare_pair(a, b).score))
    return out


def score_copydetect(problem: dict[str, Any]) -> list[tuple[int, int, float]]:
    from copydetect import CodeFingerprint, compare_files

    boiler_prints = [
        CodeFingerprint("starter.py", 25, 1, fp=io.StringIO(code))
        for code in problem["boilerplate"]
    ]
    boiler = sorted({int(h) for fp in boiler_prints for h in fp.hashes})
    prints = [
        CodeFingerprint(f"{i}.py", 25, 6, boilerplate=boiler, fp=io.StringIO(code))
        for i, (_o, _d, code) in enumerate(problem["entries"])
    ]
    out = []
    for i, j in combinations(range(len(prints)), 2):
        _overlap, sims, _slices = compare_files(prints[i], prints[j])
        out.append((i, j, float(max(sims))))
    return out


def score_compare50(problem: dict[str, Any]) -> list[tuple[int, int, float]]:
    import compare50
    from compare50 import _api, _data, passes

    _api.Executor = _api.FauxExecutor  # in this process: the other engines get one core too

    structure = passes.structure
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subs = []
        for i, (_o, _d, code) in enumerate(problem["entries"]):
            path = folder / f"s{i}" / "main.py"
            path.parent.mkdir()
            path.write_text(code, encoding="utf-8")
            subs.append(
                compare50.Submission(
                    path.parent,
                    ["main.py"],
                    preprocessor=_data.Preprocessor(structure.preprocessors),
                )
            )
        distro = folder / "distro"
        distro.mkdir()
        (distro / "main.py").write_text("\n\n".join(problem["boilerplate"]), encoding="utf-8")
        ignored_sub = compare50.Submission(
            distro,
            ["main.py"],
            preprocessor=_data.Preprocessor(structure.preprocessors),
            is_archive=True,
        )
        scores = _api.rank(subs, [], set(ignored_sub.files), structure, n=10**9)
        sizes = {}
        for sub in subs:
            sizes[sub.id] = max(1, _fingerprint_count(structure.comparator, sub))
        position = {sub.id: i for i, sub in enumerate(subs)}
        found = {}
        for s in scores:
            i, j = sorted((position[s.sub_a.id], position[s.sub_b.id]))
            found[(i, j)] = s.score / min(sizes[s.sub_a.id], sizes[s.sub_b.id])
    n = len(problem["entries"])
    return [(i, j, float(found.get((i, j), 0.0))) for i, j in combinations(range(n), 2)]


def _fingerprint_count(winnowing: Any, sub: Any) -> int:
    from compare50.comparators._winnowing import ScoreIndex

    index = ScoreIndex(winnowing.k, winnowing.t)
    for file in sub.files:
        index.include(file)
    return len(index.keys())


ENGINES: dict[str, Scorer] = {
    "ours": score_ours,
    "copydetect": score_copydetect,
    "compare50": score_compare50,
}


def evaluate(problems: list[dict[str, Any]], scorer: Scorer, threshold: float) -> dict[str, Any]:
    copies_direct: list[float] = []
    copies_all: list[float] = []
    independent: list[float] = []
    originals: list[tuple[float, str]] = []
    for problem in problems:
        entries = problem["entries"]
        for i, j, score in scorer(problem):
            (oi, di, _), (oj, dj, _) = entries[i], entries[j]
            if oi != oj:
                independent.append(score)
                if di == dj == "original":
                    originals.append((score, f"{problem['slug']}: {oi} / {oj}"))
            else:
                copies_all.append(score)
                if "original" in (di, dj):
                    copies_direct.append(score)
    flagged_copies = sum(s >= threshold for s in copies_all)
    false = sum(s >= threshold for s in independent)
    # the threshold holding false pairs at 1 per 1,000 independent pairs
    allowed = len(independent) // 1000
    strict = sorted(independent, reverse=True)[allowed] if independent else 0.0
    return {
        "recall_disguised": sum(s >= threshold for s in copies_direct) / max(1, len(copies_direct)),
        "recall_all_copies": flagged_copies / max(1, len(copies_all)),
        "precision": flagged_copies / max(1, flagged_copies + false),
        "false_per_1000": 1000 * false / max(1, len(independent)),
        "independent_pairs": len(independent),
        "copy_pairs": len(copies_all),
        "recall_at_1_per_1000": sum(s > strict for s in copies_direct) / max(1, len(copies_direct)),
        "strict_threshold": strict,
        "original_pairs": len(originals),
        "originals_flagged": sorted(name for score, name in originals if score >= threshold),
    }


def cross_problem_false(problems: list[dict[str, Any]], threshold: float) -> tuple[int, int]:
    """False pairs among originals of different problems (each pair surely independent)."""
    alphabet = sim.Alphabet()
    prints = []
    for p in problems:
        for origin, disguise, code in p["entries"]:
            if disguise == "original":
                prints.append(
                    (
                        p["slug"],
                        sim.Fingerprint.of(f"{p['slug']}/{origin}", code, alphabet, keep=p["keep"]),
                    )
                )
    false = total = 0
    for (pa, a), (pb, b) in combinations(prints, 2):
        if pa == pb:
            continue
        total += 1
        if (
            min(len(a.tokens), len(b.tokens)) >= sim.MIN_TOKENS
            and sim.compare_pair(a, b).score >= threshold
        ):
            false += 1
    return false, total


def class_timing(
    problems: list[dict[str, Any]], students: int, count: int, seed: int = 11
) -> float:
    """Seconds to fingerprint and compare ``students`` x ``count`` problems, one process."""
    rng = random.Random(seed)
    chosen = sorted(problems, key=lambda p: -len(p["entries"]))[:count]
    classes = []
    for p in chosen:
        codes = []
        for _ in range(students):
            _o, _d, code = rng.choice(p["entries"])
            try:
                code = rename(code, set(p["keep"]), rng)
            except SyntaxError:
                pass
            codes.append(code)
        classes.append((p, codes))
    started = time.perf_counter()
    for p, codes in classes:
        alphabet = sim.Alphabet()
        boiler = sim.boilerplate_hashes(p["boilerplate"], alphabet, keep=p["keep"])
        prints = [
            sim.Fingerprint.of(f"s{i}", code, alphabet, boilerplate=list(boiler), keep=p["keep"])
            for i, code in enumerate(codes)
        ]
        matches = sim.compare_class(prints)
        sim.clusters(matches)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--problems", type=int, default=20)
    parser.add_argument("--threshold", type=float, default=sim.DEFAULT_THRESHOLD)
    parser.add_argument("--engines", default="ours,copydetect,compare50")
    args = parser.parse_args()

    problems = labelled_set()
    solutions = sum(len(p["solutions"]) for p in problems)
    print(
        f"labelled set: {len(problems)} problems, {solutions} independent solutions, "
        f"{sum(len(p['entries']) for p in problems)} programs"
    )
    print()
    print(
        f"{'engine':<11} {'threshold':>9} {'precision':>9} {'recall':>7} {'recall*':>8} "
        f"{'false/1000':>10} {'recall@1/1000':>13} {'time s':>7}"
    )
    ours: dict[str, Any] = {}
    for name in args.engines.split(","):
        scorer = ENGINES[name]
        try:
            started = time.perf_counter()
            threshold = (
                args.threshold
                if name == "ours"
                else (0.33 if name == "copydetect" else args.threshold)
            )
            r = evaluate(problems, scorer, threshold)
            took = time.perf_counter() - started
        except ImportError as e:
            print(f"{name:<11} not installed ({e.name})")
            continue
        print(
            f"{name:<11} {threshold:>9.2f} {r['precision']:>9.3f} {r['recall_disguised']:>7.3f} "
            f"{r['recall_all_copies']:>8.3f} {r['false_per_1000']:>10.2f} "
            f"{r['recall_at_1_per_1000']:>13.3f} {took:>7.1f}"
        )
        if name == "ours":
            ours = r
    print()
    print("recall: original vs each disguise; recall*: every pair of one solution's copies;")
    print(
        "recall@1/1000: recall at the engine's own threshold that keeps false pairs at 1 per 1,000"
    )
    if ours:
        print(
            f"pairs: {ours['copy_pairs']} copy, {ours['independent_pairs']} independent "
            "(same problem; disguises of two solutions count as independent pairs too)"
        )
        flagged = ours["originals_flagged"]
        print(
            f"independent solutions flagged as they were written (ours): {len(flagged)} of "
            f"{ours['original_pairs']} pairs{': ' + ', '.join(flagged) if flagged else ''}"
        )
    false, total = cross_problem_false(problems, args.threshold)
    print(
        f"across problems: {false} false pairs in {total} ({1000 * false / max(1, total):.2f} per 1000)"
    )
    seconds = class_timing(problems, args.students, args.problems)
    print(f"class of {args.students} students x {args.problems} problems: {seconds:.1f} s (ours)")


if __name__ == "__main__":
    main()
