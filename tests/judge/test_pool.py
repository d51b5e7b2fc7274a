"""The pool of ready sandboxes: used once, refilled, robust to dead and failing sandboxes."""

from __future__ import annotations

import pytest

from codetutor.judge.exceptions import SandboxError
from codetutor.judge.judge import Judge
from codetutor.judge.pool import SandboxPool
from codetutor.judge.submission import Submission

from .conftest import FILES, judge_config, published

pytestmark = pytest.mark.usefixtures("clean_host")

PROBE = FILES / "probe.ipynb"


async def test_pool_is_the_default_and_fills(judge: Judge) -> None:
    pool = judge.provider
    assert isinstance(pool, SandboxPool)
    await pool.prefill()
    assert pool.ready_count == pool.size == 2
    for sandbox in pool._ready:
        assert sandbox.is_alive()


async def test_no_state_leaks_between_submissions(judge: Judge) -> None:
    problem = await published(PROBE)
    first = (
        "import builtins, os\n"
        "LEAK = 1\n"
        "builtins.sorted = None\n"
        "open('/tmp/left-behind', 'w').write('x')\n"
        "def probe():\n    return 'ok'"
    )
    assert (await judge.judge(problem, Submission.from_source(first))).verdict.value == "accepted"
    second = (
        "import builtins, os\n"
        "def probe():\n"
        "    return ('LEAK' in globals(), builtins.sorted is None, os.path.exists('/tmp/left-behind'))"
    )
    result = await judge.judge(problem, Submission.from_source(second))
    assert result.cases[0].actual == "(False, False, False)"


async def test_each_submission_gets_its_own_sandbox(judge: Judge) -> None:
    problem = await published(PROBE)
    code = "import os\ndef probe():\n    return (os.getuid(), os.environ.get('HOSTNAME'), open('/proc/self/stat').read().split()[21])"
    seen = set()
    for _ in range(3):
        result = await judge.judge(problem, Submission.from_source(code))
        seen.add(result.cases[0].actual)
    assert len(seen) == 3


async def test_a_ready_sandbox_that_died_is_skipped(judge: Judge) -> None:
    pool = judge.provider
    assert isinstance(pool, SandboxPool)
    await pool.prefill()
    victim = pool._ready[0]
    await victim.kill()
    problem = await published(PROBE)
    result = await judge.judge(problem, Submission.from_source("def probe():\n    return 'ok'"))
    assert result.verdict.value == "accepted"
    assert victim not in pool._ready


async def test_sandboxes_that_cannot_start_raise_instead_of_hanging() -> None:
    config = judge_config()
    config.JudgeKernelSpecManager.provisioner_name = "codetutor-bubblewrap"
    config.BubblewrapProvisioner.bwrap = "/nonexistent/bwrap"
    judge = Judge(config=config)
    try:
        with pytest.raises(SandboxError):
            await judge.judge(
                await published(PROBE), Submission.from_source("def probe():\n    return 'ok'")
            )
    finally:
        await judge.close()


@pytest.mark.parametrize("provisioner", ["codetutor-zygote", "codetutor-bubblewrap"])
async def test_both_sandbox_backends_judge_the_same(provisioner: str) -> None:
    config = judge_config()
    config.JudgeKernelSpecManager.provisioner_name = provisioner
    judge = Judge(config=config)
    try:
        problem = await published(PROBE)
        verdicts = []
        for code in (
            "def probe():\n    return 'ok'",
            "def probe():\n    return 'no'",
            "import os\nos._exit(1)",
        ):
            verdicts.append(
                (await judge.judge(problem, Submission.from_source(code))).verdict.value
            )
        assert verdicts == ["accepted", "wrong_answer", "runtime_error"]
    finally:
        await judge.close()


def test_event_loops_share_one_zygote() -> None:
    """A judge process keeps one zygote, however many event loops come and go (a test
    suite has one per test): a zygote per loop once left hundreds running."""
    from codetutor.judge.zygote_client import ZygoteClient

    def zygotes() -> set[int]:
        return {
            client.process.pid
            for client in ZygoteClient._shared.values()
            if client.process is not None and client.process.poll() is None
        }

    async def judge_once() -> str:
        judge = Judge(config=judge_config())
        try:
            problem = await published(PROBE)
            result = await judge.judge(problem, Submission.from_source(CODE))
            return result.verdict.value
        finally:
            await judge.close()

    CODE = "def probe():\n    return 'ok'"
    import asyncio

    assert asyncio.run(judge_once()) == "accepted"
    first = zygotes()
    assert len(first) == 1
    for _ in range(3):
        assert asyncio.run(judge_once()) == "accepted"
    assert zygotes() == first
