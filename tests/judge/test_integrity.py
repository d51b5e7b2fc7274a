"""The judge decides; the student's process only computes (SPEC.md sections 4 and 5).

Every test here is a real student submission by a determined attacker: student
code can read and patch anything in its own process (frames, ``gc``,
``sys.modules``, IPython and jupyter_client internals, ``json``, builtins,
threads, hooks, signal handlers, its own sockets and the files of its sandbox).
Each test states the verdict the judge must give anyway, and that nothing the
student may not see reaches the student.

Fixture problems (tests/files/):

- ``minmax``: function mode, every case an ``assert``; the hidden tests define a
  helper predicate in a setup statement and carry distinctive inputs;
- ``slow_twice``: function mode, 2-second time limit, two value cases;
- ``line_length``: stdio mode, hidden cases with distinctive stdin;
- ``probe`` (as in test_hostile.py): ``probe()`` must return ``'ok'``, 1 second.

Time bounds are derived from the problem's limits and generous, so that a
loaded machine never fails a correct judge.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codetutor.judge.judge import Judge
from codetutor.judge.submission import Submission
from codetutor.judge.verdict import JudgeResult

from .conftest import (
    EXAMPLES,
    FILES,
    FIRST_UID,
    RUNTIME_DIR,
    judge_code,
    leftover_cgroups,
    leftover_sandbox_dirs,
    published,
    remove_leftover_cgroups,
    sandbox_processes,
)

PROBE = FILES / "probe.ipynb"
MINMAX = FILES / "minmax.ipynb"
SLOW = FILES / "slow_twice.ipynb"
LINES = FILES / "line_length.ipynb"
DEDUPE = EXAMPLES / "dedupe" / "problem.ipynb"

EVENT_MIME = "application/vnd.codetutor.event+json"

#: what only the judge may know about each problem: hidden test source, helper
#: names, hidden inputs, hidden assert messages
HIDDEN: dict[Path, tuple[str, ...]] = {
    MINMAX: (
        "zebra_ordered_pair",
        "90417",
        "55023",
        "31337",
        "88811",
        "88812",
        "quokka-message",
        "pair[0] <= pair[1]",
    ),
    LINES: ("zebra-hidden", "quokka-hidden", "narwhal-hidden", "70001", "70002", "70003"),
    PROBE: ("probe() * 2", "assert probe() == 'ok'"),
}

pytestmark = pytest.mark.usefixtures("clean_host")


# -- helpers ----------------------------------------------------------------


def budget_s(time_limit_s: float, cases: int) -> float:
    """The longest a judgement may take: every case at three times its limit,
    twice over, plus half a minute for starting sandboxes on a loaded machine."""
    return 30.0 + cases * time_limit_s * 3 * 2


async def judged_within(
    judge: Judge, problem_path: Path, submission: Submission, bound_s: float
) -> tuple[JudgeResult, float]:
    """Judge ``submission``; fail the test if the judge takes longer than ``bound_s``.

    A judge that is stuck has its sandboxes killed until it gives up, so one
    failing test leaves nothing running for the next.
    """
    problem = await published(problem_path)
    started = time.monotonic()
    task = asyncio.ensure_future(judge.judge(problem, submission))
    done, _ = await asyncio.wait({task}, timeout=bound_s)
    elapsed = time.monotonic() - started
    if task not in done:
        _retrieve_outcome_later(task)
        deadline = time.monotonic() + 90
        while not task.done() and time.monotonic() < deadline:
            _kill_sandboxes()
            await asyncio.wait({task}, timeout=0.5)
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=10)
        _remove_leftovers()
        pytest.fail(f"the judgement took more than {bound_s:.0f} s")
    return task.result(), elapsed


def _retrieve_outcome_later(task: asyncio.Future[Any]) -> None:
    """Whatever a judgement stopped from outside ends with, it is not an unretrieved error."""
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def _kill_sandboxes() -> None:
    for pid, _uid, _cmd in sandbox_processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _remove_leftovers() -> None:
    """What a judgement stopped from outside may leave: its sandboxes' groups and dirs."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (sandbox_processes() or leftover_cgroups()):
        _kill_sandboxes()
        remove_leftover_cgroups()
        time.sleep(0.1)
    for path in leftover_sandbox_dirs():
        shutil.rmtree(path, ignore_errors=True)


def visible(result: JudgeResult) -> str:
    """Everything the student is shown, as one string (strict JSON)."""
    return json.dumps(result.to_dict("student"), ensure_ascii=False, allow_nan=False)


def assert_nothing_hidden(result: JudgeResult, problem_path: Path) -> None:
    shown = visible(result)
    leaked = [marker for marker in HIDDEN[problem_path] if marker in shown]
    assert leaked == [], shown[:4000]


def assert_strict_json(result: JudgeResult) -> None:
    for audience in ("student", "instructor"):
        text = json.dumps(result.to_dict(audience), allow_nan=False)
        json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def with_probe(code: str, answer: str) -> str:
    """``code``, followed by a ``probe()`` returning ``answer`` unless it defines one."""
    if "def probe" in code:
        return code
    return code + f"\ndef probe():\n    return {answer!r}\n"


async def assert_still_serving(judge: Judge) -> None:
    result = await judge_code(judge, PROBE, "def probe():\n    return 'ok'")
    assert result.verdict.value == "accepted"


#: Student code shared by many attacks: find the harness's secrets in this
#: process (frames first, then every object the garbage collector knows), and
#: turn a harness report of a failure into one of a pass.
TOOLS = """
import gc, json, os, sys, time
EVENT = 'application/vnd.codetutor.event+json'

def find_token():
    f = sys._getframe()
    while f is not None:
        loc = f.f_locals
        if isinstance(loc.get('token'), str):
            return loc['token']
        spec = loc.get('spec')
        if isinstance(spec, dict) and isinstance(spec.get('token'), str):
            return spec['token']
        f = f.f_back
    for o in gc.get_objects():
        if isinstance(o, dict) and isinstance(o.get('token'), str):
            return o['token']
    return 'f' * 32

def harness():
    # the namespaces of the judge's modules in this process
    found = [vars(m) for n, m in list(sys.modules.items()) if 'codetutor' in n and m is not None]
    for o in gc.get_objects():
        if isinstance(o, dict) and 'codetutor' in str(o.get('__name__', '')) and o not in found:
            found.append(o)
    return found

def passing(ev):
    if isinstance(ev, dict) and ev.get('t') == 'end':
        ev = dict(ev)
        ev['status'] = 'ok'
        ev.pop('error', None)
        ev.pop('message', None)
        if 'other' in ev:
            ev['value'] = ev['other']
    return ev

def emit(event):
    from IPython.display import publish_display_data
    publish_display_data({EVENT: event})

def secrets_text():
    # every frame's locals and every container gc knows that looks like test
    # material, the most telling parts first, at most 60 000 characters
    out = []
    f = sys._getframe()
    while f is not None:
        for k, v in list(f.f_locals.items()):
            try:
                out.append(k + '=' + repr(v)[:20000])
            except Exception:
                pass
        f = f.f_back
    keys = ('cases', 'setup', 'expr', 'stdin', 'names', 'token', 'other', 'source', 'expected', 'tests')
    for o in gc.get_objects():
        try:
            if isinstance(o, dict) and any(k in o for k in keys):
                out.append(repr(o)[:20000])
            elif isinstance(o, (list, tuple)) and any(isinstance(x, str) and ('assert' in x or '---' in x) for x in o[:1000]):
                out.append(repr(o)[:20000])
        except Exception:
            pass
    windows = []
    for t in out:
        for needle in ('assert ', "'stdin': '", "'token': '", "'setup': ["):
            start = t.find(needle)
            while start >= 0 and len(windows) < 200:
                windows.append(t[start:start + 150])
                start = t.find(needle, start + 1)
    return '\\n'.join(windows + out)[:60000]
"""


# -- forged passes ------------------------------------------------------------

WRONG_MINMAX = "def minmax(xs):\n    return (0, 0)\n"

FORGED_PASSES: dict[str, str] = {
    # The harness's own truth test, patched to call everything true.
    "patched_harness_bool": TOOLS + "for h in harness():\n"
    "    for name in ('_bool', 'bool'):\n"
    "        if name in h:\n"
    "            h[name] = lambda x: True\n" + WRONG_MINMAX,
    # The harness's report function, patched to report every case as passed.
    "patched_harness_reports": TOOLS + "for h in harness():\n"
    "    for name in ('_emit', '_send'):\n"
    "        original = h.get(name)\n"
    "        if callable(original):\n"
    "            h[name] = (lambda o: lambda *a, **k: o(*a[:-1], passing(a[-1]), **k) if a else o(**k))(original)\n"
    + WRONG_MINMAX,
    # jupyter_client's Session.send rewrites the reports on their way out.
    "patched_session_send": TOOLS + "from jupyter_client.session import Session\n"
    "_send = Session.send\n"
    "def send(self, stream, msg_or_type, content=None, *a, **k):\n"
    "    body = msg_or_type.get('content') if isinstance(msg_or_type, dict) else content\n"
    "    data = body.get('data') if isinstance(body, dict) else None\n"
    "    if isinstance(data, dict):\n"
    "        for mime in list(data):\n"
    "            data[mime] = passing(data[mime])\n"
    "    return _send(self, stream, msg_or_type, content, *a, **k)\n"
    "Session.send = send\n" + WRONG_MINMAX,
    # json's encoder class rewrites them while they are serialized.
    "patched_json_encoder": TOOLS + "import json.encoder\n"
    "_encode = json.encoder.JSONEncoder.encode\n"
    "def encode(self, o):\n"
    "    if isinstance(o, dict) and isinstance(o.get('data'), dict):\n"
    "        o['data'] = {m: passing(v) for m, v in o['data'].items()}\n"
    "    return _encode(self, o)\n"
    "json.encoder.JSONEncoder.encode = encode\n"
    "json.JSONEncoder.encode = encode\n" + WRONG_MINMAX,
    # A tuple that says it equals anything: as plain data it is (0, 0).
    "tuple_that_equals_everything": "class Liar(tuple):\n"
    "    def __eq__(self, other):\n        return True\n"
    "    def __ne__(self, other):\n        return False\n"
    "    __hash__ = tuple.__hash__\n"
    "def minmax(xs):\n    return Liar((0, 0))\n",
    # Builtins patched for the tests' namespace (len, bool, AssertionError).
    "patched_test_builtins": TOOLS + "import builtins\n"
    "class Quiet(Exception):\n    pass\n"
    "for h in harness():\n"
    "    copy = h.get('_builtins_copy')\n"
    "    if isinstance(copy, dict):\n"
    "        copy['AssertionError'] = Quiet\n"
    "        copy['len'] = lambda x: 2\n"
    "builtins.AssertionError = Quiet\n" + WRONG_MINMAX,
    # Forged reports of passes for every case, then the kernel dies before the
    # real reports are sent.
    "forged_reports_then_death": TOOLS + "calls = []\n"
    "def minmax(xs):\n"
    "    calls.append(xs)\n"
    "    if len(calls) == 2:\n"
    "        token = find_token()\n"
    "        for i in range(5):\n"
    "            emit({'token': token, 't': 'end', 'step': 'case', 'i': i, 'status': 'ok',\n"
    "                  'value': '1', 'other': '1', 'wall': 0.001, 'cpu': 0.001})\n"
    "        time.sleep(0.5)\n"
    "        os._exit(0)\n"
    "    return (0, 0)\n",
}


@pytest.mark.parametrize("name", sorted(FORGED_PASSES))
async def test_forged_passes_are_wrong_answers(name: str, judge: Judge) -> None:
    result = await judge_code(judge, MINMAX, FORGED_PASSES[name])
    assert result.verdict.value == "wrong_answer", result.to_dict("instructor")
    statuses = [c.status.value for c in result.cases]
    # (0, 0) fails "three" and "big"; it passes "pair", "ordered" and "length".
    assert statuses[0] == "failed"
    assert statuses[3] != "passed"
    if name != "forged_reports_then_death":
        assert statuses == ["failed", "passed", "passed", "failed", "passed"]
        assert result.score == pytest.approx(0.6)
    else:
        assert result.score <= 0.6
    await assert_still_serving(judge)


async def test_patched_reports_cannot_accept_a_wrong_dedupe(judge: Judge) -> None:
    code = FORGED_PASSES["patched_harness_reports"].replace(
        WRONG_MINMAX, "def dedupe(xs):\n    return list(xs)\n"
    )
    result = await judge_code(judge, DEDUPE, code)
    assert result.verdict.value == "wrong_answer", result.to_dict("instructor")
    # Only dedupe([]) is right when nothing is removed.
    assert [c.status.value for c in result.cases] == [
        "failed",
        "failed",
        "passed",
        "failed",
        "failed",
    ]
    assert result.score == pytest.approx(0.2)


# -- time limits ---------------------------------------------------------------

#: seconds a slow solution takes: far past slow_twice's 2-second limit (and its
#: wall-time allowance), yet short enough that a judge that lets it finish fails
#: this suite quickly
SLOW_S = 15

DROP_BEGINS = (
    "for h in harness():\n"
    "    original = h.get('_emit')\n"
    "    if callable(original):\n"
    "        h['_emit'] = (lambda o: lambda ev: None if ev.get('t') == 'begin' else o(ev))(original)\n"
)

SLOW_ONCE = (
    "slept = []\n"
    "def twice(x):\n"
    "    if not slept:\n"
    "        slept.append(1)\n"
    f"        time.sleep({SLOW_S})\n"
    "    return 2 * x\n"
)

TIME_CHEATS: dict[str, str] = {
    "dropped_begin_reports": TOOLS + DROP_BEGINS + SLOW_ONCE,
    "patched_clocks": TOOLS + "fake = lambda *a: 0.0\n"
    "for name in ('perf_counter', 'process_time', 'monotonic', 'time', 'thread_time'):\n"
    "    setattr(time, name, fake)\n"
    "    setattr(time, name + '_ns', lambda *a: 0)\n"
    "for h in harness():\n"
    "    for name in ('_perf', '_cpu', 'perf_counter', 'process_time'):\n"
    "        if name in h:\n"
    "            h[name] = fake\n" + SLOW_ONCE,
    # A forged report that the running case has ended.
    "forged_end_reports": TOOLS + "slept = []\n"
    "def twice(x):\n"
    "    token = find_token()\n"
    "    for i in range(2):\n"
    "        emit({'token': token, 't': 'end', 'step': 'case', 'i': i, 'status': 'ok',\n"
    "              'value': str(2 * x), 'wall': 0.001, 'cpu': 0.001})\n"
    "    if not slept:\n"
    "        slept.append(1)\n"
    f"        time.sleep({SLOW_S})\n"
    "    return 2 * x\n",
    # CPU time, not sleep, with no reports of where a case begins.
    "cpu_burn_without_reports": TOOLS + DROP_BEGINS + "burnt = []\n"
    "def twice(x):\n"
    "    if not burnt:\n"
    "        burnt.append(1)\n"
    "        t0 = time.perf_counter()\n"
    f"        while time.perf_counter() - t0 < {SLOW_S}:\n"
    "            pass\n"
    "    return 2 * x\n",
}


@pytest.mark.parametrize("name", sorted(TIME_CHEATS))
async def test_time_limits_cannot_be_switched_off(name: str, judge: Judge) -> None:
    submission = Submission.from_source(TIME_CHEATS[name])
    result, _ = await judged_within(judge, SLOW, submission, budget_s(2, 2))
    assert result.verdict.value == "time_limit_exceeded", result.to_dict("instructor")
    assert result.cases[0].status.value == "timeout"


async def test_a_fifty_second_solution_with_hundreds_of_empty_cells(judge: Judge) -> None:
    """Empty cells do not buy time: the budget is per case, not per cell."""
    code = TOOLS + DROP_BEGINS + "def twice(x):\n    time.sleep(50)\n    return 2 * x\n"
    submission = Submission(cells=(code,) + ("",) * 300 + ("pass",) * 100)
    result, _ = await judged_within(judge, SLOW, submission, budget_s(2, 2))
    assert result.verdict.value == "time_limit_exceeded", result.to_dict("instructor")
    assert {c.status.value for c in result.cases} == {"timeout"}


#: Code that keeps the kernel busy after the judge's requests (or at its exit);
#: the judgement must still end within the problem's limits.
LINGERERS: dict[str, str] = {
    "post_run_cell_hook": "import time\n"
    "get_ipython().events.register('post_run_cell', lambda result: time.sleep(10**6))\n",
    "post_execute_hook": "import time\n"
    "get_ipython().events.register('post_execute', lambda: time.sleep(10**6))\n",
    "pre_execute_hook": "import time\n"
    "get_ipython().events.register('pre_execute', lambda: time.sleep(10**6))\n",
    "pre_run_cell_hook": "import time\n"
    "get_ipython().events.register('pre_run_cell', lambda info: time.sleep(10**6))\n",
    "atexit_handler": "import atexit, time\natexit.register(time.sleep, 10**6)\n",
    "non_daemon_thread": "import threading, time\n"
    "threading.Thread(target=time.sleep, args=(10**6,), daemon=False).start()\n",
    "signal_handlers_that_sleep": "import signal, time\n"
    "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):\n"
    "    signal.signal(s, lambda *a: time.sleep(10**6))\n",
    "shutdown_patched": "import time\n"
    "k = get_ipython().kernel\n"
    "k.do_shutdown = lambda *a, **kw: time.sleep(10**6)\n"
    "get_ipython().ask_exit = lambda: time.sleep(10**6)\n",
}


@pytest.mark.parametrize("name", sorted(LINGERERS))
async def test_lingering_code_cannot_stretch_the_judgement(name: str, judge: Judge) -> None:
    code = LINGERERS[name] + "def probe():\n    return 'ok'\n"
    # Hundreds of empty cells must not buy a longer total budget either.
    submission = Submission(cells=(code,) + ("",) * 200)
    result, _ = await judged_within(judge, PROBE, submission, budget_s(1, 3))
    assert result.verdict.value in ("accepted", "time_limit_exceeded"), result.to_dict("instructor")
    await assert_still_serving(judge)


# -- hidden tests stay hidden ------------------------------------------------------

LEAKS: dict[tuple[str, Path], str] = {
    # Everything in every frame and every container gc knows, printed by a cell.
    ("printed_by_a_cell", MINMAX): TOOLS + "print(secrets_text())\n"
    "def minmax(xs):\n    return (min(xs), max(xs))\n",
    # ... by a public case, whose output the student sees.
    ("printed_by_a_public_case", MINMAX): TOOLS
    + "def minmax(xs):\n    print(secrets_text())\n    return (min(xs), max(xs))\n",
    # ... as the value of a public case (its feedback shows the actual value).
    ("returned_by_a_public_case", MINMAX): TOOLS + "import re\n"
    "def minmax(xs):\n"
    "    text = secrets_text()\n"
    "    hits = [text[m.start(): m.start() + 150] for m in re.finditer('assert|def ', text)]\n"
    "    return tuple(hits[-20:]) or (min(xs), max(xs))\n",
    # ... in an exception raised by the student's own cell (its traceback is shown).
    ("raised_by_a_cell", MINMAX): TOOLS + "raise RuntimeError(secrets_text()[:1900])\n",
    # Whatever the tests' namespace holds, found from the student's function.
    ("referrers_of_the_function", MINMAX): "import gc, sys\n"
    "def minmax(xs):\n"
    "    seen = []\n"
    "    for r in gc.get_referrers(sys._getframe().f_code, minmax):\n"
    "        if isinstance(r, dict):\n"
    "            seen.append(sorted(map(str, r))[:50])\n"
    "    print(seen)\n"
    "    return (min(xs), max(xs))\n",
    # What a hidden case prints or raises never reaches the student, and the
    # inputs of hidden cases are not there yet when public cases run.
    ("hidden_inputs_printed_raised_and_replayed", MINMAX): "import sys\n"
    "seen = []\n"
    "def minmax(xs):\n"
    "    seen.append(list(xs))\n"
    "    print('inputs so far', seen)\n"
    "    print('inputs so far', seen, file=sys.stderr)\n"
    "    if len(seen) > 2:\n"
    "        raise ValueError(repr(seen))\n"
    "    return (min(xs), max(xs))\n",
    # The stdin of every other case, in a stdio program's output.
    ("stdio_program_reads_everything", LINES): "import gc, os, stat, sys, time\n"
    "t0 = time.process_time()\n"
    "found = []\n"
    "def look(v):\n"
    "    if isinstance(v, dict):\n"
    "        if isinstance(v.get('stdin'), str):\n"
    "            found.append(v['stdin'])\n"
    "        for c in v.get('cases') or () if isinstance(v.get('cases'), list) else ():\n"
    "            look(c)\n"
    "    elif isinstance(v, str) and '---' in v:\n"
    "        found.append(v[:300])\n"
    "f = sys._getframe()\n"
    "while f is not None:\n"
    "    for v in list(f.f_locals.values()):\n"
    "        look(v)\n"
    "    f = f.f_back\n"
    "for o in gc.get_objects():\n"
    "    if isinstance(o, dict) and ('stdin' in o or 'cases' in o):\n"
    "        look(o)\n"
    "try:\n"
    "    found.append(sys.stdin.read())\n"
    "except Exception as e:\n"
    "    found.append(repr(e))\n"
    "for fd in range(0, 64):\n"
    "    try:\n"
    "        if stat.S_ISREG(os.fstat(fd).st_mode):\n"
    "            found.append(os.pread(fd, 4096, 0).decode('utf-8', 'replace'))\n"
    "    except OSError:\n"
    "        pass\n"
    "def regular(path):\n"
    "    try:\n"
    "        return stat.S_ISREG(os.stat(path).st_mode)\n"
    "    except OSError:\n"
    "        return False\n"
    "for root in ('/tmp', '/dev/shm', '/run', '/var/tmp'):\n"
    "    for dirpath, dirs, files in os.walk(root):\n"
    "        if time.process_time() - t0 > 0.5:\n"
    "            break\n"
    "        for name in files[:50]:\n"
    "            if regular(os.path.join(dirpath, name)):\n"
    "                try:\n"
    "                    found.append(open(os.path.join(dirpath, name), errors='replace').read(300))\n"
    "                except OSError:\n"
    "                    pass\n"
    "for pid in os.listdir('/proc'):\n"
    "    if pid.isdigit() and time.process_time() - t0 < 0.8:\n"
    "        for what in ('cmdline', 'environ'):\n"
    "            try:\n"
    "                found.append(open(f'/proc/{pid}/{what}', 'rb').read(2000).decode('utf-8', 'replace'))\n"
    "            except OSError:\n"
    "                pass\n"
    "        try:\n"
    "            for fd in os.listdir(f'/proc/{pid}/fd'):\n"
    "                if regular(f'/proc/{pid}/fd/{fd}'):\n"
    "                    found.append(open(f'/proc/{pid}/fd/{fd}', errors='replace').read(300))\n"
    "        except (OSError, ValueError):\n"
    "            pass\n"
    "hits = [f for f in found if f.strip() and f.strip() != 'hello']\n"
    "print(' | '.join(hits)[:1900])\n",
    # A stdio program that echoes its (hidden) input everywhere and fails.
    ("stdio_program_echoes_hidden_input", LINES): "import sys\n"
    "line = input()\n"
    "print(line)\n"
    "print(line, file=sys.stderr)\n"
    "if line != 'hello':\n"
    "    raise ValueError(line)\n",
    # The probe's hidden tests, from a frame walk and gc scan in its public case.
    ("probe_tests_from_frames", PROBE): TOOLS
    + "def probe():\n    print(secrets_text())\n    return 'ok'\n",
}


def _leak_name(key: tuple[str, Path]) -> str:
    return key[0]


@pytest.mark.parametrize("key", sorted(LEAKS), ids=_leak_name)
async def test_hidden_tests_never_reach_the_student(key: tuple[str, Path], judge: Judge) -> None:
    problem_path = key[1]
    result = await judge_code(judge, problem_path, LEAKS[key])
    assert result.verdict.value != "internal_error", result.to_dict("instructor")
    assert_nothing_hidden(result, problem_path)


async def test_the_kernel_holds_no_signing_secret(judge: Judge) -> None:
    """Forged messages are the student's problem: no key in the sandbox to sign them with."""
    code = (
        "import json\n"
        "def probe():\n"
        "    keys = []\n"
        "    try:\n"
        "        keys.append(get_ipython().kernel.session.key)\n"
        "    except Exception:\n"
        "        pass\n"
        "    try:\n"
        "        from ipykernel.kernelapp import IPKernelApp\n"
        "        keys.append(IPKernelApp.instance().session.key)\n"
        "        keys.append(json.load(open(IPKernelApp.instance().abs_connection_file))['key'])\n"
        "    except Exception:\n"
        "        pass\n"
        "    try:\n"
        "        args = open('/proc/self/cmdline', 'rb').read().split(b'\\0')\n"
        "        keys.append(json.load(open(args[args.index(b'-f') + 1]))['key'])\n"
        "    except Exception:\n"
        "        pass\n"
        "    return [bool(k) for k in keys]\n"
    )
    result = await judge_code(judge, PROBE, code)
    assert result.cases[0].actual is not None
    assert "True" not in result.cases[0].actual


# -- the student's messages cannot fail the judge -----------------------------------

GET_PARENT = (
    "k = get_ipython().kernel\n"
    "try:\n"
    "    parent = k.get_parent()\n"
    "except Exception:\n"
    "    parent = getattr(k, '_parent_header', {})\n"
)

JUDGE_BREAKERS: dict[str, str] = {
    "garbage_frames_on_iopub": GET_PARENT + "import time\n"
    "for frames in ([b'garbage'], [b'<IDS|MSG>', b'deadbeef', b'{}', b'{}', b'{}', b'{}'],\n"
    "               [b'<IDS|MSG>', b'', b'not json', b'{', b'x', b'y'],\n"
    "               [b'display_data', b'<IDS|MSG>', b'', b'{\"msg_type\": 5}', b'[]', b'{}', b'{}']):\n"
    "    k.iopub_socket.send_multipart(frames)\n"
    "time.sleep(0.5)\n",
    "badly_shaped_messages": GET_PARENT + "import time\n"
    "for msg_type, content in [('display_data', 5), ('display_data', {'data': 5}),\n"
    "                          ('display_data', {'data': {'" + EVENT_MIME + "': [1]}}),\n"
    "                          ('stream', {'name': 'stdout', 'text': 5}),\n"
    "                          ('error', {'ename': 1, 'evalue': None, 'traceback': 7}),\n"
    "                          ('execute_result', {'data': None}), ('status', {'execution_state': 5}),\n"
    "                          ('execute_reply', {'status': 'ok'})]:\n"
    "    k.session.send(k.iopub_socket, msg_type, content, parent=parent)\n"
    "time.sleep(0.5)\n",
    "forged_event_with_a_bad_index": TOOLS + "token = find_token()\n"
    "for i in ('x', [1], None, 1.5, 10**30):\n"
    "    emit({'token': token, 't': 'begin', 'step': 'case', 'i': i})\n"
    "    emit({'token': token, 't': 'end', 'step': 'case', 'i': i, 'status': 'ok'})\n"
    "time.sleep(0.5)\n",
}

#: reports with times that are not numbers, sent by a case that then kills its kernel
for _wall in ("nan", "abc", "inf"):
    JUDGE_BREAKERS[f"forged_wall_{_wall}"] = (
        TOOLS + "def probe():\n"
        "    token = find_token()\n"
        "    for i in range(3):\n"
        "        emit({'token': token, 't': 'end', 'step': 'case', 'i': i, 'status': 'ok',\n"
        f"              'value': '\"no\"', 'wall': {_wall!r}, 'cpu': {_wall!r}}})\n"
        "    time.sleep(0.5)\n"
        "    os._exit(0)\n"
    )


@pytest.mark.parametrize("name", sorted(JUDGE_BREAKERS))
async def test_malformed_messages_are_the_students_problem(name: str, judge: Judge) -> None:
    code = with_probe(JUDGE_BREAKERS[name], "no")
    result = await judge_code(judge, PROBE, code)
    assert result.verdict.value in ("runtime_error", "wrong_answer"), result.to_dict("instructor")
    assert_strict_json(result)
    await assert_still_serving(judge)


@pytest.mark.parametrize("name", ["garbage_frames_on_iopub", "forged_wall_nan"])
def test_cli_prints_strict_json_for_malformed_messages(name: str, tmp_path: Path) -> None:
    code = with_probe(JUDGE_BREAKERS[name], "no")
    submission = tmp_path / "submission.py"
    submission.write_text(code, encoding="utf-8")
    codetutor = Path(sys.executable).parent / "codetutor"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run(
        [
            str(codetutor),
            "judge",
            str(PROBE),
            str(submission),
            "--json",
            # uids of this test process (the upper quarter), so clean_host sees them
            f"--BubblewrapProvisioner.first_uid={FIRST_UID + 48}",
            "--BubblewrapProvisioner.uid_count=8",
            f"--BubblewrapProvisioner.runtime_dir={RUNTIME_DIR}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout, parse_constant=_reject_constant)
    assert data["verdict"] in ("runtime_error", "wrong_answer")
    assert 0 <= data["score"] <= 1


# -- output limits ---------------------------------------------------------------

#: Megabytes of each flood: far past the output limit (8 KiB), and under the probe's
#: memory limit (128 MB) even with every message still queued in the kernel, so only
#: counting the output can stop it (600 MB once raced the memory limit on a busy machine).
FLOOD_MB = 40

OUTPUT_FLOODS: dict[str, str] = {
    "event_mime_strings": "from IPython.display import publish_display_data\n"
    f"for _ in range({FLOOD_MB}):\n"
    f"    publish_display_data({{'{EVENT_MIME}': 'x' * 10**6}})\n",
    "event_mime_objects": "from IPython.display import publish_display_data\n"
    f"for _ in range({FLOOD_MB}):\n"
    f"    publish_display_data({{'{EVENT_MIME}': {{'t': 'note', 'pad': 'x' * 10**6}}}})\n",
    "event_mime_updates": "from IPython.display import publish_display_data\n"
    f"for _ in range({FLOOD_MB}):\n"
    f"    publish_display_data({{'{EVENT_MIME}': 'x' * 10**6}}, transient={{'display_id': 'a'}}, update=True)\n",
    "other_mime": "from IPython.display import publish_display_data\n"
    f"for _ in range({FLOOD_MB}):\n"
    "    publish_display_data({'application/x-anything': 'x' * 10**6})\n",
    "comm_messages": GET_PARENT + f"for _ in range({FLOOD_MB}):\n"
    "    k.session.send(k.iopub_socket, 'comm_msg', {'comm_id': 'c', 'data': {'pad': 'x' * 10**6}}, parent=parent)\n",
    "clear_output_and_status": GET_PARENT + f"for i in range({FLOOD_MB}):\n"
    "    k.session.send(k.iopub_socket, ('clear_output', 'status')[i % 2], {'wait': False, 'pad': 'x' * 10**6}, parent=parent)\n",
    "event_mime_in_a_case": "from IPython.display import publish_display_data\n"
    "def probe():\n"
    f"    for _ in range({FLOOD_MB}):\n"
    f"        publish_display_data({{'{EVENT_MIME}': 'x' * 10**6}})\n"
    "    return 'ok'\n",
}


@pytest.mark.parametrize("name", sorted(OUTPUT_FLOODS))
async def test_every_message_counts_against_the_output_limit(name: str, judge: Judge) -> None:
    code = with_probe(OUTPUT_FLOODS[name], "ok")
    result, _ = await judged_within(judge, PROBE, Submission.from_source(code), budget_s(1, 3))
    assert result.verdict.value == "output_limit_exceeded", result.to_dict("instructor")
    await assert_still_serving(judge)


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.fixture
def peak_rss() -> Iterator[list[int]]:
    """[baseline, peak] RSS of this (the judge's) process while the test runs."""
    sample = [_rss_bytes(), _rss_bytes()]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.01):
            sample[1] = max(sample[1], _rss_bytes())

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield sample
    stop.set()
    thread.join()


async def test_huge_presigned_frames_do_not_bloat_the_judge(
    judge: Judge, peak_rss: list[int]
) -> None:
    await published(PROBE)
    peak_rss[:] = [_rss_bytes(), _rss_bytes()]
    code = (
        GET_PARENT + "s = k.session\n"
        "frames = s.serialize(s.msg('display_data', {'data': {'text/plain': 'x' * (20 << 20)}, 'metadata': {}}, parent=parent))\n"
        "for _ in range(60):\n"
        "    k.iopub_socket.send_multipart(frames, copy=False)\n"
        "import time\ntime.sleep(2)\n"
        "def probe():\n    return 'ok'\n"
    )
    result, _ = await judged_within(judge, PROBE, Submission.from_source(code), budget_s(1, 3))
    growth = peak_rss[1] - peak_rss[0]
    assert growth < 300 << 20, f"the judge grew by {growth >> 20} MiB"
    assert result.verdict.value in (
        "output_limit_exceeded",
        "runtime_error",
        "memory_limit_exceeded",
    ), result.to_dict("instructor")


# -- the judge never follows the sandbox's paths ----------------------------------------

SWAP_SOCKETS = """
import json, os, stat, sys, gc, time
LURE = {lure!r}
CANARY = {canary!r}
found, roots = set(), set()
try:
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    roots.add(os.path.dirname(app.abs_connection_file))
    if app.transport == 'ipc':
        for key in ('shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'):
            found.add(str(app.ip) + '-' + str(getattr(app, key)))
except Exception:
    pass
try:
    args = open('/proc/self/cmdline', 'rb').read().split(b'\\0')
    roots.add(os.path.dirname(args[args.index(b'-f') + 1].decode()))
except Exception:
    pass
budget = [5000]
def sockets_under(top, depth):
    if depth > 4 or budget[0] < 0:
        return
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for entry in entries:
        budget[0] -= 1
        try:
            if entry.is_dir(follow_symlinks=False):
                sockets_under(entry.path, depth + 1)
            elif stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode):
                found.add(entry.path)
        except OSError:
            pass
for top in sorted(roots) + ['/tmp', '/dev/shm', '/run']:
    sockets_under(top, 0)
for path in found:
    try:
        os.unlink(path)
    except OSError:
        pass
    try:
        os.symlink(LURE, path)
    except OSError:
        pass
# every other file the judge left in the sandbox's directory now points at the host
for root in roots:
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if path not in found and not os.path.isdir(path):
            try:
                os.unlink(path)
                os.symlink(CANARY, path)
            except OSError:
                pass
"""

SOCKET_KILLERS: dict[str, str] = {
    # Close every zmq socket of the kernel and stay alive: the judge's own
    # sockets see their peer go and would reconnect to the (replaced) paths.
    "close_sockets_and_wait": "import zmq\n"
    "for o in gc.get_objects():\n"
    "    if isinstance(o, zmq.Socket) and not o.closed:\n"
    "        try:\n"
    "            o.close(linger=0)\n"
    "        except Exception:\n"
    "            pass\n"
    "time.sleep(10)\n",
    "exit_at_once": "os._exit(0)\n",
    "kill_itself": "import signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "in_a_case": "def probe():\n    os._exit(0)\n",
}


@pytest.fixture
def lure(tmp_path: Path) -> Iterator[tuple[str, str, list[Any]]]:
    """A listening unix socket and a canary file on the host, and who connected."""
    path = f"/tmp/codetutor-lure-{uuid.uuid4().hex[:12]}.sock"
    canary = Path(f"/tmp/codetutor-canary-{uuid.uuid4().hex[:12]}")
    canary.write_text("untouched")
    canary.chmod(0o600)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(16)
    server.settimeout(0.1)
    connections: list[Any] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            connections.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path, str(canary), connections
    stop.set()
    thread.join()
    server.close()
    for conn in connections:
        conn.close()
    os.unlink(path)
    stat = canary.stat()
    assert (canary.read_text(), stat.st_uid, stat.st_mode & 0o7777) == ("untouched", 0, 0o600)
    canary.unlink()


@pytest.mark.parametrize("name", sorted(SOCKET_KILLERS))
async def test_judge_never_follows_sandbox_paths(
    name: str, judge: Judge, lure: tuple[str, str, list[Any]]
) -> None:
    path, canary, connections = lure
    code = with_probe(SWAP_SOCKETS.format(lure=path, canary=canary) + SOCKET_KILLERS[name], "ok")
    result, _ = await judged_within(judge, PROBE, Submission.from_source(code), budget_s(1, 3))
    await asyncio.sleep(1)  # a reconnect in flight would land now
    assert connections == []
    assert result.verdict.value != "internal_error", result.to_dict("instructor")
    await assert_still_serving(judge)
    assert connections == []


def test_hidden_markers_are_really_hidden_test_material() -> None:
    """The markers above occur in the problems' hidden tests and nowhere a student sees."""
    for path, markers in HIDDEN.items():
        text = path.read_text(encoding="utf-8")
        for marker in markers:
            assert marker in text or json.dumps(marker)[1:-1] in text, (path, marker)
    assert re.search("zebra", MINMAX.read_text()) is not None
