"""``codetutor up`` as a real process (:class:`Up`), for the end-to-end and Hub tests."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Up:
    """One ``codetutor up`` process on a free port with its own data dir."""

    def __init__(
        self,
        data_dir: Path,
        *,
        demo: bool = False,
        admin_token: str = "",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = admin_token or os.urandom(16).hex()
        self.demo = demo
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / "up.log"
        self.descendants: dict[int, psutil.Process] = {}
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.admin_token}"

    def start(self, timeout_s: float = 240.0) -> None:
        """Start ``up``; return once it is ready (logins, and with ``demo`` the problem set)."""
        self.log_offset = len(self.log())
        env = dict(os.environ, CODETUTOR_ADMIN_TOKEN=self.admin_token, PYTHONUNBUFFERED="1")
        argv = [
            sys.executable,
            "-m",
            "codetutor",
            "up",
            f"--port={self.port}",
            f"--data-dir={self.data_dir}",
            "--workers=1",
            *(["--demo"] if self.demo else []),
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, cwd=REPO)
        deadline = time.monotonic() + timeout_s
        # Ready to log in at the welcome; with --demo, once the problem set is published
        # too (a judge worker runs each problem's reference solution after the welcome).
        ready = "  Published " if self.demo else "Code Tutor is running at"
        while ready not in self.log()[self.log_offset :]:
            if self.proc.poll() is not None:
                raise RuntimeError(f"codetutor up exited:\n{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"codetutor up did not start:\n{self.log()[-4000:]}")
            time.sleep(0.5)
        self.remember_descendants()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def password(self, name: str = "admin") -> str:
        """The password ``up`` printed for account ``name``."""
        found = re.search(rf"as '{name}' with password '([^']+)'", self.log())
        assert found is not None, self.log()[-2000:]
        return found.group(1)

    def remember_descendants(self) -> None:
        """Note every process ``up`` has started so far (to check none is left later)."""
        assert self.proc is not None
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.descendants.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    def stop(self, timeout_s: float = 90.0) -> int:
        """Ctrl-C ``up``; return its exit status."""
        if self.proc is None:
            return 0
        self.remember_descendants()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        code = self.proc.returncode
        self.proc = None
        return code

    def left_behind(self) -> list[str]:
        """Descriptions of the processes ``up`` started that are still alive."""
        alive = []
        for process in self.descendants.values():
            try:
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{process.pid} {' '.join(process.cmdline())[:150]}")
            except psutil.Error:
                continue
        return alive

    # -- the Hub's REST API with the admin token -----------------------------------

    def api(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.request(
            method,
            f"{self.url}/hub/api/{path.lstrip('/')}",
            data=json.dumps(body) if body is not None else None,
            timeout=120,
            **kwargs,
        )

    def start_server(self, name: str, timeout_s: float = 120.0) -> float:
        """Start ``name``'s server and wait until it is ready; return the seconds it took."""
        started = time.monotonic()
        r = self.api("POST", f"users/{name}/server")
        assert r.status_code in (201, 202), r.text
        while True:
            model = self.api("GET", f"users/{name}").json()
            if model["servers"].get("", {}).get("ready"):
                return time.monotonic() - started
            assert time.monotonic() - started < timeout_s, model
            time.sleep(0.25)

    def user_token(self, name: str) -> str:
        r = self.api("POST", f"users/{name}/tokens", {"note": "e2e"})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])
