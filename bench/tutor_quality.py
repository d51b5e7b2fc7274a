"""How useful and how safe the tutor's replies are, over every known-wrong submission.

For each problem in ``notebooks/`` and each submission whose expected verdict
(``expected.json``) is not ``accepted``, the submission is judged once by the real
judge (in this process, in sandboxes), then the tutor is asked — on the chat's path,
:func:`codetutor.tutor.app.ask_tutor`: grounding, ladder, model, guard — "why is it
wrong?" with a hint, in English and in Korean. Reported:

* **names input/expected**: of the replies whose submission failed a *public* case,
  the share that quote that case's input or its expected value;
* **in asked language**: the share whose language (Hangul share) is the one asked;
* **prompt echoes**: replies that repeat the tutor's instructions (must be 0);
* **solution leaks**: replies with code that the real judge accepts (must be 0);
* **time to first text** p50/p95 (the grounded text comes before any model token),
  the model's first token p50 (when model text was kept), the whole reply's time p50.

    python bench/tutor_quality.py                    # bundled model: auto and completion modes
    python bench/tutor_quality.py --modes off        # no model text at all
    python bench/tutor_quality.py --problems leap-year two-sum --json-out q.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from traitlets.config import Config

from codetutor.judge.judge import Judge
from codetutor.judge.problem import Problem
from codetutor.judge.publish import Publisher
from codetutor.judge.submission import Submission
from codetutor.tutor import grounding, prompts, snippets
from codetutor.tutor.app import ask_tutor, read_submission
from codetutor.tutor.engine import LlamaCppEngine
from codetutor.tutor.guard import SolutionGuard
from codetutor.tutor.scheduler import Scheduler
from codetutor.tutor.tutor import Tutor

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = {"en": "Why is my code wrong?", "ko": "제 코드가 왜 틀렸나요?"}


def wrong_submissions(names: list[str] | None) -> list[tuple[Path, Path, str]]:
    """``(problem notebook, submission, expected verdict)`` of every known-wrong submission."""
    found = []
    for expected_file in sorted(ROOT.glob("notebooks/*/expected.json")):
        folder = expected_file.parent
        if names and folder.name not in names:
            continue
        for name, verdict in sorted(json.loads(expected_file.read_text()).items()):
            if verdict != "accepted":
                found.append((folder / "problem.ipynb", folder / "submissions" / name, verdict))
    return found


def leaked(reply: str, problem: Problem) -> list[str]:
    """Programs in ``reply`` worth judging: they define a function or read input."""
    programs = snippets.candidate_programs(snippets.extract_fragments(reply))
    if problem.meta.mode.value == "stdio":
        return [p for p in programs if "input(" in p or "stdin" in p]
    return [p for p in programs if "def " in p or "lambda" in p]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    config = Config()
    config.SandboxPool.size = 0
    config.SolutionGuard.checker_class = "codetutor.judge.local.LocalChecker"
    if args.model:
        config.LlamaCppEngine.model_path = args.model
    judge = Judge(config=config)
    engine = LlamaCppEngine(config=config)
    scheduler = Scheduler(config=config, engine=engine)
    guard = SolutionGuard(config=config)
    tutor = Tutor(config=config, scheduler=scheduler, guard=guard, judge=guard.checker.folders)  # type: ignore[attr-defined]
    if any(mode != "off" for mode in args.modes):
        await engine.start()
        scheduler.start()
    rows: list[dict[str, Any]] = []
    published: dict[Path, Problem] = {}
    try:
        for problem_path, submission_path, expected in wrong_submissions(args.problems):
            if problem_path not in published:
                problem = Problem.load(problem_path)
                published[problem_path] = await Publisher(config=config, judge=judge).publish(
                    problem
                )
                guard.checker.load(problem_path)  # type: ignore[attr-defined]
            problem = published[problem_path]
            result = await judge.judge(problem, Submission.from_path(submission_path))
            verdict = result.to_dict()  # the student's view
            code = read_submission(str(submission_path))
            view = await tutor.get_problem(problem.meta.id)
            facts = grounding.facts(view, verdict, code)
            public = facts.failing_public
            for mode, lang in [(m, la) for m in args.modes for la in args.langs]:
                tutor.model_mode = mode
                user = f"bench-{problem.meta.id}-{submission_path.stem}-{lang}-{mode}"
                started = time.perf_counter()
                out = await ask_tutor(
                    tutor,
                    problem.meta.id,
                    code,
                    verdict,
                    QUESTIONS[lang],
                    hint=True,
                    lang=lang,
                    user=user,
                )
                total = time.perf_counter() - started
                reply = out["reply"]
                names = None
                if public is not None:
                    names = bool(
                        (public.source and public.source in reply)
                        or (public.expected and public.expected in reply)
                    )
                leaks = 0
                for program in leaked(reply, problem):
                    judged = await judge.judge(problem, Submission.from_source(program))
                    leaks += judged.verdict.value == "accepted"
                rows.append(
                    {
                        "problem": problem.meta.id,
                        "submission": submission_path.name,
                        "expected": expected,
                        "verdict": verdict["verdict"],
                        "lang": lang,
                        "names_public": names,
                        "in_language": prompts.detect_language(reply, lang) == lang,
                        "echo": prompts.echoes_prompt(reply, prompts.instruction_texts()),
                        "leaks": leaks,
                        "first_text_s": out["first_token_s"],
                        "model_first_s": out["model_first_s"],
                        "total_s": round(total, 3),
                        "sources": out["sources"],
                        "mode": out["mode"],
                        "asked_mode": mode,
                        "reason": out["reason"],
                        "reply": reply,
                    }
                )
                if args.verbose:
                    print(json.dumps(rows[-1], ensure_ascii=False)[:600], file=sys.stderr)
    finally:
        await scheduler.stop()
        await tutor.close()
        await engine.stop()
        await judge.close()
    return summarize(rows, args)


def summarize(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    table = []
    for mode, lang in [(m, la) for m in args.modes for la in [*args.langs, "all"]]:
        mine = [r for r in rows if r["asked_mode"] == mode and (lang == "all" or r["lang"] == lang)]
        used = sorted({str(r["mode"]) for r in mine})
        with_public = [r for r in mine if r["names_public"] is not None]
        firsts = [r["first_text_s"] for r in mine if r["first_text_s"] is not None]
        model_firsts = [r["model_first_s"] for r in mine if r["model_first_s"] is not None]
        table.append(
            {
                "mode": f"{mode} ({', '.join(used)})" if used != [mode] else mode,
                "lang": lang,
                "replies": len(mine),
                "public failing": len(with_public),
                "names input/expected": (
                    sum(r["names_public"] for r in with_public) / len(with_public)
                    if with_public
                    else float("nan")
                ),
                "in asked language": sum(r["in_language"] for r in mine) / max(1, len(mine)),
                "prompt echoes": sum(r["echo"] for r in mine),
                "solution leaks": sum(r["leaks"] > 0 for r in mine),
                "model text kept": sum("model" in r["sources"] for r in mine) / max(1, len(mine)),
                "instructor": sum("instructor" in r["sources"] for r in mine) / max(1, len(mine)),
                "first text p50 s": percentile(firsts, 0.5),
                "first text p95 s": percentile(firsts, 0.95),
                "model first token p50 s": percentile(model_firsts, 0.5),
                "reply p50 s": statistics.median([r["total_s"] for r in mine]) if mine else 0,
            }
        )
    return {"modes": args.modes, "rows": rows, "table": table}


def markdown(summary: dict[str, Any]) -> str:
    table = summary["table"]
    keys = list(table[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---:|" * len(keys)]
    for row in table:
        cells = []
        for key in keys:
            value = row[key]
            if isinstance(value, float) and key.endswith(
                ("expected", "language", "kept", "instructor")
            ):
                cells.append(f"{value:.0%}" if value == value else "-")
            elif isinstance(value, float):
                cells.append(f"{value:.3f}" if value == value else "-")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["auto", "completion"],
        choices=["auto", "chat", "completion", "off"],
        help="Tutor.model_mode values to compare (each submission is judged once)",
    )
    parser.add_argument("--model", default="", help="a GGUF (default: the bundled model)")
    parser.add_argument("--problems", nargs="*", help="problem ids (default: all)")
    parser.add_argument("--langs", nargs="+", default=["en", "ko"], choices=["en", "ko"])
    parser.add_argument("--json-out", default="", help="write every reply and the table here")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    summary = asyncio.run(run(args))
    print(markdown(summary))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
