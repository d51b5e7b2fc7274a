"""Hostile submissions: each gets the right verdict, leaves nothing behind, and the judge keeps serving.

Most use the `probe` problem (tests/files/probe.ipynb): `probe()` must return
'ok', time limit 1 s, memory 128 MiB. The public case's feedback shows the
student's value, so a submission can report what it saw inside the sandbox.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from codetutor.judge.judge import Judge
from codetutor.judge.verdict import JudgeResult

from .conftest import EXAMPLES, FILES, judge_code, judge_config

PROBE = FILES / "probe.ipynb"
DEDUPE = EXAMPLES / "dedupe" / "problem.ipynb"
COUNT = EXAMPLES / "count-vowels" / "problem.ipynb"

pytestmark = pytest.mark.usefixtures("clean_host")


def public_actual(result: JudgeResult) -> str | None:
    return result.cases[0].actual


async def assert_still_serving(judge: Judge) -> None:
    result = await judge_code(judge, PROBE, "def probe():\n    return 'ok'")
    assert result.verdict.value == "accepted"


HOSTILE: dict[str, tuple[str, str | tuple[str, ...]]] = {
    # A fork flood ends on whichever limit it reaches first: CPU time or memory.
    "fork_flood": (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        ("time_limit_exceeded", "memory_limit_exceeded"),
    ),
    "fork_flood_in_case": (
        "import os\ndef probe():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass",
        ("time_limit_exceeded", "memory_limit_exceeded"),
    ),
    "huge_allocation": ("x = 'a' * (4 * 10**9)", "memory_limit_exceeded"),
    "list_allocation": ("x = [0] * (10 ** 9)", "memory_limit_exceeded"),
    "gradual_growth": (
        "xs = []\nwhile True:\n    xs.append(bytearray(10**6) + b'x')",
        "memory_limit_exceeded",
    ),
    "memory_in_case": (
        "def probe():\n    xs = []\n    while True:\n        xs.append('y' * 10**6)",
        "memory_limit_exceeded",
    ),
    "os_exit": ("import os\nos._exit(0)", "runtime_error"),
    "os_exit_in_case": ("import os\ndef probe():\n    os._exit(3)", "runtime_error"),
    "system_exit": ("raise SystemExit(0)", "runtime_error"),
    "system_exit_in_case": ("def probe():\n    raise SystemExit", "runtime_error"),
    "segfault": ("import ctypes\nctypes.string_at(0)", "runtime_error"),
    "deep_recursion": ("def f(n):\n    return f(n + 1)\nf(0)", "runtime_error"),
    # Python frames live on the heap: unbounded recursion runs out of memory.
    "deep_recursion_unlimited": (
        "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)",
        "memory_limit_exceeded",
    ),
    # Recursion through C (hashing nested tuples, which has no recursion check)
    # overflows the C stack: the kernel dies. A thread with a small stack gets
    # there in a few thousand levels, in milliseconds, whatever the stack rlimit.
    "c_stack_overflow": (
        "import threading\nthreading.stack_size(1 << 18)\nx = ()\nfor _ in range(200000):\n    x = (x,)\n"
        "t = threading.Thread(target=hash, args=(x,))\nt.start()\nt.join()",
        "runtime_error",
    ),
    "ignores_signals": (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass",
        "time_limit_exceeded",
    ),
    "ignores_signals_in_case": (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "def probe():\n    while True:\n        try:\n            pass\n        except BaseException:\n            pass",
        "time_limit_exceeded",
    ),
    "sleeps_forever": ("import time\ntime.sleep(10**6)", "time_limit_exceeded"),
    "sleeps_in_case": ("import time\ndef probe():\n    time.sleep(10**6)", "time_limit_exceeded"),
    "output_flood": ("while True:\n    print('spam' * 1000)", "output_limit_exceeded"),
    "output_flood_swallowing_errors": (
        "while True:\n    try:\n        print('spam' * 1000)\n    except BaseException:\n        pass",
        "output_limit_exceeded",
    ),
    "output_flood_raw_fd": (
        "import os\nwhile True:\n    os.write(1, b'x' * 65536)",
        "output_limit_exceeded",
    ),
    "output_flood_real_stdout": (
        "import sys\nwhile True:\n    sys.__stdout__.write('y' * 65536)\n    sys.__stdout__.flush()",
        "output_limit_exceeded",
    ),
    "output_flood_in_case": (
        "def probe():\n    while True:\n        print('z' * 10000)",
        "output_limit_exceeded",
    ),
    # The kernel's parent is the sandbox's init (bubblewrap: not ours to kill, so the
    # call raises) or outside its PID namespace (zygote: the call reaches nothing).
    "kills_parent": (
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef probe():\n    return 'ok'",
        ("runtime_error", "accepted"),
    ),
    # kill(-1) reaches nothing outside the sandbox (and spares the caller).
    "kills_everything": (
        "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\ndef probe():\n    return 'ok'",
        "accepted",
    ),
    "kills_own_group": ("import os, signal\nos.killpg(0, signal.SIGKILL)", "runtime_error"),
    "always_equal": (
        "class Liar:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
        "def probe():\n    return Liar()",
        "wrong_answer",
    ),
    "forged_event": (
        "from IPython.display import publish_display_data\n"
        "for i in range(3):\n"
        "    publish_display_data({'application/vnd.codetutor.event+json': "
        "{'t': 'end', 'step': 'case', 'i': i, 'status': 'ok', 'value': 'ok'}})\n"
        "def probe():\n    return 'no'",
        "wrong_answer",
    ),
}


@pytest.fixture(params=["codetutor-zygote", "codetutor-bubblewrap"])
async def backend_judge(request: pytest.FixtureRequest) -> AsyncIterator[Judge]:
    """A judge on each sandbox backend: the hostile table must hold on both."""
    config = judge_config()
    config.JudgeKernelSpecManager.provisioner_name = request.param
    j = Judge(config=config)
    yield j
    await j.close()


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_submission(name: str, backend_judge: Judge) -> None:
    judge = backend_judge
    code, verdict = HOSTILE[name]
    result = await judge_code(judge, PROBE, code)
    allowed = verdict if isinstance(verdict, tuple) else (verdict,)
    assert result.verdict.value in allowed, result.to_dict("instructor")
    await assert_still_serving(judge)


async def test_devices_work(backend_judge: Judge) -> None:
    """/dev/null, zero, full, random and urandom work in both sandboxes (subprocess.DEVNULL too)."""
    code = (
        "import subprocess\n"
        "def probe():\n"
        "    out = []\n"
        "    with open('/dev/null', 'r+b') as f:\n"
        "        f.write(b'x')\n"
        "        out.append(f.read() == b'')\n"
        "    for name in ('zero', 'random', 'urandom'):\n"
        "        with open('/dev/' + name, 'rb') as f:\n"
        "            out.append(len(f.read(16)) == 16)\n"
        "    with open('/dev/full', 'r+b', buffering=0) as f:\n"
        "        out.append(f.read(4) == bytes(4))\n"
        "        try:\n"
        "            f.write(b'x')\n"
        "        except OSError:\n"
        "            out.append(True)\n"
        "    out.append(subprocess.run(['true'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode == 0)\n"
        "    return 'ok' if all(out) and len(out) == 7 else repr(out)\n"
    )
    result = await judge_code(backend_judge, PROBE, code)
    assert result.verdict.value == "accepted", result.to_dict("instructor")


async def test_background_processes_do_not_survive(judge: Judge) -> None:
    code = (
        "import os, subprocess, time\n"
        "subprocess.Popen(['sleep', '1000'])\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        while True:\n"
        "            time.sleep(1)\n"
        "    os._exit(0)\n"
        "def probe():\n    return 'ok'"
    )
    result = await judge_code(judge, PROBE, code)
    assert result.verdict.value == "accepted"
    # clean_host asserts that no process of a sandbox uid is left


async def test_daemon_thread_does_not_survive(judge: Judge) -> None:
    code = (
        "import threading, time\n"
        "threading.Thread(target=lambda: time.sleep(1000), daemon=True).start()\n"
        "def probe():\n    return 'ok'"
    )
    result = await judge_code(judge, PROBE, code)
    assert result.verdict.value == "accepted"


async def test_cannot_read_problem_files(judge: Judge) -> None:
    targets = [
        str(PROBE),
        str(DEDUPE),
        str(Path.cwd() / "pyproject.toml"),
        "/etc/shadow",
        "/etc/passwd",
        "/home",
    ]
    code = (
        "import os\n"
        "def probe():\n"
        "    seen = []\n"
        f"    for path in {targets!r}:\n"
        "        try:\n"
        "            if os.path.isdir(path):\n"
        "                os.listdir(path)\n"
        "            else:\n"
        "                open(path).read(10)\n"
        "            seen.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return seen\n"
    )
    result = await judge_code(judge, PROBE, code)
    assert public_actual(result) == "[]"
    assert result.verdict.value == "wrong_answer"


async def test_cannot_find_bundles_anywhere(judge: Judge) -> None:
    # A walk of the whole sandbox, likely places first, that stops before a time
    # limit: it starts in the student's cell and goes on in the public case, each
    # part well inside its own window even on a loaded machine with cold caches.
    code = (
        "import os, time\n"
        "todo = ['/', '/run', '/mnt', '/var', '/opt', '/srv', '/work', '/home', '/root', '/dev', '/tmp']\n"
        "seen, hits = set(), []\n"
        "def search(wall_s, cpu_s):\n"
        "    wall0, cpu0 = time.monotonic(), time.process_time()\n"
        "    while todo:\n"
        "        if time.monotonic() - wall0 > wall_s or time.process_time() - cpu0 > cpu_s:\n"
        "            return False\n"
        "        root = todo.pop()\n"
        "        if root in seen or root.startswith(('/proc', '/usr', '/sys')) or '/lib/python' in root or '.pyenv' in root:\n"
        "            continue\n"
        "        seen.add(root)\n"
        "        try:\n"
        "            entries = list(os.scandir(root))\n"
        "        except OSError:\n"
        "            continue\n"
        "        for entry in entries:\n"
        "            try:\n"
        "                if entry.is_dir(follow_symlinks=False):\n"
        "                    todo.append(entry.path)\n"
        "                elif entry.name.endswith(('.ipynb', '.bundle')):\n"
        "                    hits.append(entry.path)\n"
        "            except OSError:\n"
        "                pass\n"
        "    return True\n"
        "search(1.0, 0.4)\n"
        "def probe():\n"
        "    return (search(1.5, 0.5), hits)\n"
    )
    result = await judge_code(judge, PROBE, code)
    assert public_actual(result) == "(True, [])"


async def test_the_sandbox_sees_its_root_only_at_slash(backend_judge: Judge) -> None:
    # The zygote builds the kernel's root inside the sandbox directory; binding that
    # directory recursively once showed the kernel a second, writable view of its own
    # root (and made a walk of the sandbox 80 times longer).
    code = (
        "import os\n"
        "def probe():\n"
        "    views, todo = [], ['/dev/shm', '/run', '/tmp', '/var/tmp']\n"
        "    while todo:\n"
        "        here = todo.pop()\n"
        "        try:\n"
        "            names = os.listdir(here)\n"
        "        except OSError:\n"
        "            continue\n"
        "        if 'proc' in names and 'usr' in names:\n"
        "            views.append(here)\n"
        "        todo += [os.path.join(here, n) for n in names\n"
        "                 if os.path.isdir(os.path.join(here, n))\n"
        "                 and not os.path.islink(os.path.join(here, n))]\n"
        "    return views\n"
    )
    result = await judge_code(backend_judge, PROBE, code)
    assert public_actual(result) == "[]"


async def test_cannot_read_judge_environment(judge: Judge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODETUTOR_TEST_SECRET", "hunter2")
    code = (
        "import os\n"
        "def probe():\n"
        "    found = [k for k, v in os.environ.items() if 'hunter2' in v or k.startswith(('CODETUTOR', 'JPY'))]\n"
        "    for pid in os.listdir('/proc'):\n"
        "        try:\n"
        "            if b'hunter2' in open(f'/proc/{pid}/environ', 'rb').read():\n"
        "                found.append(pid)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return found\n"
    )
    result = await judge_code(judge, PROBE, code)
    assert public_actual(result) == "[]"


async def test_no_network_not_even_loopback(judge: Judge) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        for _ in range(40):
            try:
                accepted.append(server.accept())
                return
            except OSError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    code = (
        "import socket\n"
        "def probe():\n"
        "    out = []\n"
        f"    for host, port in [('127.0.0.1', {port}), ('10.0.0.1', 80), ('pypi.org', 443)]:\n"
        "        try:\n"
        "            socket.create_connection((host, port), timeout=0.2).close()\n"
        "            out.append('connected')\n"
        "        except OSError:\n"
        "            out.append('blocked')\n"
        "    return out\n"
    )
    try:
        result = await judge_code(judge, PROBE, code)
    finally:
        thread.join()
        server.close()
    assert public_actual(result) == "['blocked', 'blocked', 'blocked']"
    assert accepted == []


async def test_cannot_write_outside_the_sandbox(judge: Judge, tmp_path: Path) -> None:
    marker = f"codetutor-pwned-{uuid.uuid4().hex}"
    targets = [
        f"/tmp/{marker}",
        str(tmp_path / marker),
        str(Path.cwd() / marker),
        f"/dev/shm/{marker}",
    ]
    code = (
        "def probe():\n"
        "    written = []\n"
        f"    for path in {targets!r}:\n"
        "        try:\n"
        "            with open(path, 'w') as f:\n"
        "                f.write('x')\n"
        "            written.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return 'ok'\n"
    )
    result = await judge_code(judge, PROBE, code)
    assert result.verdict.value == "accepted"
    for path in targets:
        assert not os.path.exists(path), path


async def test_runs_as_unprivileged_user_in_own_pid_namespace(judge: Judge) -> None:
    code = (
        "import os\n"
        "def probe():\n"
        "    pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "    return (os.getuid() != 0, os.geteuid() != 0, len(pids) < 10, os.path.exists('/proc/1/environ'))\n"
    )
    result = await judge_code(judge, PROBE, code)
    assert public_actual(result) == "(True, True, True, True)"


CHEATS: dict[str, tuple[Path, str, str]] = {
    # Patched builtins change nothing the harness or the tests use.
    "patched_builtins": (
        DEDUPE,
        "import builtins\n"
        "builtins.list = lambda *a, **k: sorted(set(a[0])) if a else []\n"
        "builtins.sorted = lambda xs, **k: xs\n"
        "builtins.all = lambda xs: True\n"
        "builtins.repr = lambda x: 'ok'\n"
        "builtins.len = lambda x: 0\n"
        "builtins.print = lambda *a, **k: None\n"
        "def dedupe(xs):\n    return sorted(set(xs))\n",
        "wrong_answer",
    ),
    # `list` and `range` defined by the student are invisible to the tests.
    "shadowed_names": (
        DEDUPE,
        "def list(x=()):\n    return x\ndef range(*a):\n    return []\ndef dedupe(xs):\n    return []\n",
        "wrong_answer",
    ),
    # Patched IPython internals cannot hide a wrong answer ...
    "patched_ipython_internals": (
        COUNT,
        "ip = get_ipython()\n"
        "ip.showtraceback = lambda *a, **k: None\n"
        "ip.run_cell = lambda *a, **k: None\n"
        "ip.display_pub.publish = lambda *a, **k: None\n"
        "type(ip).run_cell_async = None\n"
        "def count_vowels(s):\n    return 0\n",
        "wrong_answer",
    ),
    # ... nor an error.
    "patched_ipython_hides_errors": (
        COUNT,
        "ip = get_ipython()\n"
        "ip.showtraceback = lambda *a, **k: None\n"
        "ip.showsyntaxerror = lambda *a, **k: None\n"
        "def count_vowels(s):\n    raise ValueError('nope')\n",
        "runtime_error",
    ),
}


@pytest.mark.parametrize("name", sorted(CHEATS))
async def test_cheats_cannot_turn_failure_into_pass(name: str, judge: Judge) -> None:
    problem, code, verdict = CHEATS[name]
    result = await judge_code(judge, problem, code)
    assert result.verdict.value == verdict


async def test_timeout_in_one_case_does_not_sink_the_others(judge: Judge) -> None:
    # Hidden case 3 is slow; the other cases still pass and count in the score.
    code = "def dedupe(xs):\n    out = []\n    for x in xs:\n        if x not in out:\n            out.append(x)\n    return out"
    result = await judge_code(judge, DEDUPE, code)
    assert result.verdict.value == "time_limit_exceeded"
    assert [c.status.value for c in result.cases] == [
        "passed",
        "passed",
        "passed",
        "passed",
        "timeout",
    ]
    assert result.score == pytest.approx(0.8)


async def test_crash_in_a_case_resumes_remaining_cases(judge: Judge) -> None:
    code = "import os\ndef probe():\n    os._exit(1)\n"
    result = await judge_code(judge, PROBE, code)
    assert result.verdict.value == "runtime_error"
    assert {c.status.value for c in result.cases} == {"error"}


def test_a_killed_judge_leaves_no_kernel_behind(tmp_path: Path) -> None:
    """SIGKILL a judge holding a pool of ready kernels: every kernel dies with it,
    and the next judge removes what is left on disk."""
    import signal
    import subprocess
    import sys
    import time

    from codetutor.judge.provisioners import reap_stale_sandboxes

    from .conftest import FIRST_UID, leftover_cgroups

    first = FIRST_UID + 32  # the upper half of this process's range: not used by other tests
    runtime = str(tmp_path / "runtime")
    script = (
        "import asyncio, sys\n"
        "from traitlets.config import Config\n"
        "from codetutor.judge.judge import Judge\n"
        "c = Config()\n"
        f"c.BubblewrapProvisioner.first_uid = {first}\n"
        "c.BubblewrapProvisioner.uid_count = 8\n"
        f"c.BubblewrapProvisioner.runtime_dir = {runtime!r}\n"
        "c.SandboxPool.size = 2\n"
        "async def main():\n"
        "    judge = Judge(config=c)\n"
        "    await judge.provider.prefill()\n"
        "    print('ready', flush=True)\n"
        "    await asyncio.sleep(600)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"

        def alive() -> list[int]:
            found = []
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        status = Path("/proc", entry, "status").read_text()
                    except OSError:
                        continue
                    uid = int(
                        next(
                            line for line in status.splitlines() if line.startswith("Uid:")
                        ).split()[1]
                    )
                    if first <= uid < first + 8 and "State:\tZ" not in status:
                        found.append(int(entry))
            return found

        assert len(alive()) >= 2  # two ready kernels (and their helpers)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive() == []
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert reap_stale_sandboxes(runtime, "/sys/fs/cgroup") == 2
    assert [p for p in Path(runtime).iterdir() if p.name != "uids"] == []
    assert leftover_cgroups(range(first, first + 8)) == []
