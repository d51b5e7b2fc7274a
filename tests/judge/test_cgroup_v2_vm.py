"""The sandbox limits on cgroup v2 for real: the hostile table's memory, process and CPU
rows and an example, judged inside a VM whose only cgroup hierarchy is the unified one.

The development and CI machines have their controllers bound to cgroup v1, so
tests/vm/run.sh boots Debian's kernel under QEMU (TCG, about 3 s to a shell) with
this host's root shared read-only, mounts cgroup2 and runs pytest there with
``CODETUTOR_CGROUPS=v2``, in a private cgroup namespace whose root has processes
(the judge-worker container case: the judge must move them into a leaf before it
can delegate controllers). Software emulation is slow (a Python start takes about
10 s), so the selection below is small: the rows where cgroups decide the verdict, on
the zygote backend (the default; a bubblewrap kernel's full interpreter start takes
longer than the 30 s start timeout under emulation). It takes about 5 minutes.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "tests" / "vm" / "run.sh"

SELECTION = [
    "tests/judge/test_hostile.py::test_hostile_submission[codetutor-zygote-huge_allocation]",
    "tests/judge/test_hostile.py::test_hostile_submission[codetutor-zygote-gradual_growth]",
    "tests/judge/test_hostile.py::test_hostile_submission[codetutor-zygote-fork_flood]",
    "tests/judge/test_hostile.py::test_hostile_submission[codetutor-zygote-ignores_signals]",
    "tests/judge/test_hostile.py::test_hostile_submission[codetutor-zygote-memory_in_case]",
    "tests/judge/test_hostile.py::test_devices_work[codetutor-zygote]",
    "tests/judge/test_hostile.py::test_background_processes_do_not_survive",
    "tests/judge/test_examples.py::test_example_verdict[count-vowels/memory_limit]",
]


def vm_missing() -> str | None:
    """Why the VM cannot boot here, or None."""
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 is missing (Debian package qemu-system-x86)"
    if not glob.glob("/boot/vmlinuz-*-amd64"):
        return "no Debian kernel in /boot (Debian package linux-image-amd64)"
    if os.geteuid() != 0:
        return "the VM test shares the host's root and runs the judge as root: run it as root"
    return None


# The whole VM run (boot, then pytest under emulation) takes about 5 minutes: more than
# the suite's per-test timeout.
@pytest.mark.timeout(1500)
def test_limits_hold_on_cgroup_v2_in_a_vm() -> None:
    missing = vm_missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot test cgroup v2: {missing}")
        pytest.skip(missing)
    command = [
        "env",
        "CODETUTOR_CGROUPS=v2",
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rA",
        *SELECTION,
    ]
    started = time.monotonic()
    proc = subprocess.run(
        [str(RUN), *command], cwd=ROOT, capture_output=True, text=True, timeout=1500
    )
    took = time.monotonic() - started
    tail = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, f"inner run failed after {took:.0f} s:\n{tail}"
    assert f"{len(SELECTION)} passed" in proc.stdout, tail
