"""``codetutor up``: the whole product on one machine (the embedded default).

One command starts JupyterHub with ``jupyterhub_config.py`` in embedded mode; the
Hub starts configurable-http-proxy, the judge service (and its workers), the tutor
service (with the bundled small model), the idle culler, and each user's
sandboxed server on demand. Everything lives in one data dir
(:attr:`UpApp.data_dir`), so a restart keeps users, problems and submissions.

On start it makes sure an admin account exists (password generated once, kept in
``<data dir>/secrets/accounts.json``, mode 0600), prints the URL and how to log
in, and with ``--demo`` also creates a demo student and instructor and publishes
the problem set from ``notebooks/``. ``CODETUTOR_ADMIN_TOKEN`` in the environment
becomes an API token with the admin role (otherwise one is generated and kept in
the data dir, for ``up``'s own use).

Ctrl-C (SIGINT) or SIGTERM stops the Hub, which stops what it started; whatever
is left of the process tree afterwards is killed, so nothing outlives ``up``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from traitlets import Bool, Float, Integer, Unicode, default

from codetutor.cli import CodeTutorBaseApp, UsageError
from codetutor.hub import roles
from codetutor.hub.config import find_proxy, repository_root
from codetutor.hub.exceptions import HubStartError
from codetutor.insight.demo import seed_demo_submissions

DEMO_ACCOUNTS = {"student": roles.STUDENTS, "instructor": roles.INSTRUCTORS}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HubAPI:
    """A few calls to the Hub's REST API (and services behind the proxy) with a token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        """Send a request; return the decoded JSON answer (None when empty).

        Raises ``urllib.error.HTTPError`` for an error status.
        """
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else None


class UpApp(CodeTutorBaseApp):
    """``codetutor up``: run Code Tutor on its embedded default (module docstring)."""

    name = "up"
    description = """Start Code Tutor on this machine: JupyterHub with the proxy, the judge,
    the tutor and sandboxed user servers. Ctrl-C stops everything."""

    data_dir = Unicode(
        help="Where everything is kept (databases, homes, secrets). Default: ~/.codetutor."
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return os.environ.get("CODETUTOR_DATA_DIR") or str(Path.home() / ".codetutor")

    port = Integer(8000, help="The public port (the proxy's).").tag(config=True)
    ip = Unicode("127.0.0.1", help="The public address (the proxy's).").tag(config=True)
    demo = Bool(
        False, help="Also create demo accounts and publish the problems in notebooks/."
    ).tag(config=True)
    admin_user = Unicode("admin", help="Name of the admin account.").tag(config=True)
    judge_workers = Integer(2, help="Judge worker processes.").tag(config=True)
    hub_config = Unicode(help="The Hub's config file. Default: the repository's.").tag(config=True)

    @default("hub_config")
    def _default_hub_config(self) -> str:
        return str(repository_root() / "jupyterhub_config.py")

    problems_dir = Unicode(help="Problem notebooks --demo publishes. Default: notebooks/.").tag(
        config=True
    )

    @default("problems_dir")
    def _default_problems_dir(self) -> str:
        return str(repository_root() / "notebooks")

    start_timeout_s = Float(180.0, help="How long the Hub may take to come up.").tag(config=True)
    stop_timeout_s = Float(45.0, help="How long the Hub may take to stop before it is killed.").tag(
        config=True
    )

    aliases: Any = {
        "port": "UpApp.port",
        "ip": "UpApp.ip",
        "data-dir": "UpApp.data_dir",
        "workers": "UpApp.judge_workers",
    }
    flags: Any = {
        **CodeTutorBaseApp.flags,
        "demo": ({"UpApp": {"demo": True}}, "Create demo accounts and publish notebooks/."),
    }

    _stopping = False

    # -- the data dir -------------------------------------------------------------

    def prepare_data_dir(self) -> Path:
        """Create the data dir's layout (private where it holds secrets); return it."""
        root = Path(self.data_dir).expanduser().resolve()
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, mode in (
            ("hub", 0o700),
            ("judge", 0o700),
            ("tutor", 0o700),
            ("secrets", 0o700),
            ("users", 0o711),
        ):
            path = root / name
            path.mkdir(mode=mode, exist_ok=True)
            path.chmod(mode)
        return root

    def secret(self, root: Path, name: str, make: Any) -> str:
        """The secret ``name`` kept in the data dir, made with ``make()`` the first time."""
        path = root / "secrets" / name
        if path.exists():
            return path.read_text().strip()
        value = str(make())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        return value

    def accounts(self, root: Path) -> tuple[Path, dict[str, dict[str, str]]]:
        """The accounts file (admin, plus demo accounts with --demo), created or extended."""
        path = root / "secrets" / "accounts.json"
        accounts: dict[str, dict[str, str]] = {}
        if path.exists():
            accounts = json.loads(path.read_text())
        wanted = [self.admin_user, *(DEMO_ACCOUNTS if self.demo else ())]
        changed = False
        for name in wanted:
            if name not in accounts:
                accounts[name] = {"password": secrets.token_urlsafe(12)}
                changed = True
        if changed or not path.exists():
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(accounts, f, indent=1)
            tmp.replace(path)
        return path, accounts

    # -- running --------------------------------------------------------------------

    def hub_environment(self, root: Path, admin_token: str, accounts_file: Path) -> dict[str, str]:
        """The environment of the Hub: HubSettings' CODETUTOR_* choices."""
        # Not a Hub's child itself: a JUPYTERHUB_* variable here would confuse the services.
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
        proxy = find_proxy()
        env.update(
            {
                "CODETUTOR_MODE": "embedded",
                "CODETUTOR_DATA_DIR": str(root),
                "CODETUTOR_IP": self.ip,
                "CODETUTOR_PORT": str(self.port),
                "CODETUTOR_HUB_PORT": str(free_port()),
                "CODETUTOR_PROXY_API_PORT": str(free_port()),
                "CODETUTOR_JUDGE_PORT": str(free_port()),
                "CODETUTOR_TUTOR_PORT": str(free_port()),
                "CODETUTOR_DASHBOARD_PORT": str(free_port()),
                "CODETUTOR_JUDGE_WORKERS": str(self.judge_workers),
                "CODETUTOR_ADMIN_TOKEN": admin_token,
                "CODETUTOR_ADMIN_USERS": self.admin_user,
                "CODETUTOR_ACCOUNTS_FILE": str(accounts_file),
                "CODETUTOR_PROXY_COMMAND": proxy,
                # the proxy's token for the Hub: fresh each start (the proxy is too)
                "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(32),
            }
        )
        return env

    def wait_until_up(self, env: dict[str, str], hub: subprocess.Popen[bytes]) -> None:
        """Return once the Hub answers through the proxy; HubStartError if it died or took too long.

        Waits quietly (health checks go unlogged) for the Hub itself, then the judge
        and the tutor, which the Hub starts before it adds its routes to the proxy,
        and only then for the proxy.
        """
        deadline = time.monotonic() + self.start_timeout_s
        checks = [
            f"http://127.0.0.1:{env['CODETUTOR_HUB_PORT']}/hub/health",
            f"http://127.0.0.1:{env['CODETUTOR_JUDGE_PORT']}/services/{roles.JUDGE_SERVICE}/health",
            f"http://127.0.0.1:{env['CODETUTOR_TUTOR_PORT']}/services/{roles.TUTOR_SERVICE}/health",
            f"http://127.0.0.1:{self.port}/hub/health",
        ]
        for url in checks:
            while True:
                if hub.poll() is not None:
                    raise HubStartError(
                        f"JupyterHub exited with status {hub.returncode}; see its log above"
                    )
                if self._stopping:
                    return
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise HubStartError(
                        f"Code Tutor did not come up within {self.start_timeout_s:.0f}s ({url})"
                    )
                time.sleep(0.5)

    def set_up_accounts(self, api: HubAPI, accounts: dict[str, dict[str, str]]) -> None:
        """Make sure the admin and demo users exist in the Hub and their groups."""
        members: dict[str, list[str]] = {roles.INSTRUCTORS: [self.admin_user]}
        names = [self.admin_user]
        if self.demo:
            for name, group in DEMO_ACCOUNTS.items():
                names.append(name)
                members.setdefault(group, []).append(name)
        existing = {u["name"] for u in api.call("GET", "/hub/api/users") or []}
        missing = [n for n in names if n not in existing]
        if missing:
            api.call("POST", "/hub/api/users", {"usernames": missing})
        for group, users in members.items():
            api.call("POST", f"/hub/api/groups/{group}/users", {"users": users})

    def publish_problems(self, api: HubAPI) -> tuple[int, list[str]]:
        """Publish every ``<problems_dir>/*/problem.ipynb`` to the judge; (published, failures)."""
        paths = sorted(Path(self.problems_dir).glob("*/problem.ipynb"))
        judge = f"/services/{roles.JUDGE_SERVICE}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                api.call("GET", judge + "health", timeout=5)
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    return 0, ["the judge service did not answer"]
                time.sleep(0.5)
        published, failures = 0, []
        for path in paths:
            if self._stopping:
                break
            try:
                api.call("POST", judge + "api/problems", json.loads(path.read_text()), timeout=300)
                published += 1
            except urllib.error.HTTPError as e:
                failures.append(f"{path.parent.name}: {e.code} {e.read()[:200]!r}")
            except (urllib.error.URLError, OSError, ValueError) as e:
                failures.append(f"{path.parent.name}: {e}")
        return published, failures

    def print_welcome(self, accounts: dict[str, dict[str, str]], accounts_file: Path) -> None:
        host = "localhost" if self.ip in ("127.0.0.1", "0.0.0.0", "") else self.ip
        url = f"http://{host}:{self.port}/"
        lines = [
            "",
            f"  Code Tutor is running at {url}",
            "",
            f"  Log in as {self.admin_user!r} with password {accounts[self.admin_user]['password']!r}",
        ]
        if self.demo:
            for name in DEMO_ACCOUNTS:
                lines.append(
                    f"  Demo {name}: log in as {name!r} with password {accounts[name]['password']!r}"
                )
        lines += [
            f"  (passwords are kept in {accounts_file})",
            "  New users sign up at /hub/signup; the admin approves them at /hub/authorize.",
            f"  Instructors: the class dashboard is at {url}services/dashboard/",
            "  Press Ctrl-C to stop everything.",
            "",
        ]
        print("\n".join(lines), flush=True)

    def start(self) -> None:
        """Run until Ctrl-C; exit 2 on bad input, 1 if the Hub cannot run."""
        try:
            self.run()
        except HubStartError as e:
            print(f"codetutor: {e}", file=sys.stderr)
            sys.exit(1)

    def run(self) -> None:
        """Start everything, set up the accounts, wait for Ctrl-C, stop everything."""
        if self.extra_args:
            raise UsageError(f"unexpected argument {self.extra_args[0]!r}")
        if not 1 <= self.port <= 65535:
            raise UsageError("--port must be between 1 and 65535")
        if not Path(self.hub_config).is_file():
            raise UsageError(f"JupyterHub config not found: {self.hub_config}")
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((self.ip, self.port))
            except OSError as e:
                raise UsageError(f"cannot listen on {self.ip}:{self.port}: {e.strerror}") from None
        root = self.prepare_data_dir()
        admin_token = os.environ.get("CODETUTOR_ADMIN_TOKEN") or self.secret(
            root, "admin-token", lambda: secrets.token_hex(32)
        )
        accounts_file, accounts = self.accounts(root)
        env = self.hub_environment(root, admin_token, accounts_file)

        def stop(signum: int, frame: Any) -> None:
            self._stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        hub = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", self.hub_config],
            env=env,
            cwd=root / "hub",
            start_new_session=True,
        )
        tree: dict[int, psutil.Process] = {}
        try:
            api = HubAPI(f"http://127.0.0.1:{self.port}", admin_token)
            self.wait_until_up(env, hub)
            if not self._stopping:
                self.set_up_accounts(api, accounts)
                self.print_welcome(accounts, accounts_file)
            if self.demo and not self._stopping:
                published, failures = self.publish_problems(api)
                print(f"  Published {published} demo problems.", flush=True)
                for failure in failures:
                    self.log.warning("could not publish %s", failure)
                if published and not self._stopping:
                    # a history for recommendations, the class dashboard and the gradebook
                    try:
                        seeded = seed_demo_submissions(api, Path(self.problems_dir))
                        print(f"  Submitted {seeded} demo submissions of classmates.", flush=True)
                    except (urllib.error.URLError, OSError, ValueError) as e:
                        self.log.warning("could not submit the demo submissions: %s", e)
            while not self._stopping and hub.poll() is None:
                self._remember_tree(hub.pid, tree)
                time.sleep(1.0)
        finally:
            self.stop_everything(hub, tree)
        if hub.returncode not in (0, -signal.SIGTERM, None) and not self._stopping:
            raise HubStartError(f"JupyterHub exited with status {hub.returncode}")

    @staticmethod
    def _remember_tree(pid: int, tree: dict[int, psutil.Process]) -> None:
        """Add the Hub's current descendants to ``tree`` (they may leave its tree later)."""
        try:
            for child in psutil.Process(pid).children(recursive=True):
                tree.setdefault(child.pid, child)
        except psutil.Error:
            pass

    def stop_everything(
        self, hub: subprocess.Popen[bytes], tree: dict[int, psutil.Process]
    ) -> None:
        """Stop the Hub (it stops its services, servers and proxy), then kill what is left."""
        self._remember_tree(hub.pid, tree)
        if hub.poll() is None:
            print("Stopping Code Tutor…", flush=True)
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.log.warning("JupyterHub did not stop in time; killing it")
                hub.kill()
                hub.wait()
        left = []
        for process in tree.values():
            try:
                if process.is_running():
                    left.append(process)
            except psutil.Error:
                continue
        for process in left:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(left, timeout=10)
        if left:
            self.log.info("killed %s processes the Hub left behind", len(left))
