"""Run deploy/nginx with Debian's nginx on loopback, the way the nginx image would.

:class:`NginxServer` renders ``templates/*.template`` with the ``CODETUTOR_*``
variables (as the image's envsubst step does), moves every ``/etc/nginx/`` path into
a temporary folder, adds a self-signed certificate made with ``openssl``, and runs
``nginx -g 'daemon off;'`` in the foreground.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from .conftest import DEPLOY, require_tool

SOURCE = DEPLOY / "nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def render(template: str, values: dict[str, str]) -> str:
    """Substitute ``${NAME}`` for the given names only (nginx's own ``$vars`` stay)."""
    return re.sub(
        r"\$\{([A-Z_][A-Z0-9_]*)\}", lambda m: values.get(m.group(1), m.group(0)), template
    )


def make_certificate(folder: Path, common_name: str = "localhost") -> None:
    """A self-signed certificate and key as ``fullchain.pem`` and ``privkey.pem``."""
    openssl = require_tool("openssl")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={common_name}",
            "-addext",
            f"subjectAltName=DNS:{common_name},IP:127.0.0.1",
            "-keyout",
            str(folder / "privkey.pem"),
            "-out",
            str(folder / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )


class NginxServer:
    """deploy/nginx in front of ``upstream`` (``host:port``), listening on loopback."""

    def __init__(self, root: Path, upstream: str, domain: str = "localhost") -> None:
        self.binary = require_tool("nginx", "/usr/sbin/nginx")
        self.root = root
        self.http_port = free_port()
        self.https_port = free_port()
        self.status_port = free_port()
        self.values = {
            "CODETUTOR_DOMAIN": domain,
            "CODETUTOR_UPSTREAM": upstream,
            "CODETUTOR_HTTP_PORT": f"127.0.0.1:{self.http_port}",
            "CODETUTOR_HTTPS_PORT": f"127.0.0.1:{self.https_port}",
            "CODETUTOR_STATUS_PORT": f"127.0.0.1:{self.status_port}",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = root / "nginx.conf"
        self.error_log = root / "error.log"
        self.access_log = root / "access.log"
        self._lay_out()

    def _relocate(self, text: str) -> str:
        text = text.replace("/etc/nginx/", f"{self.root}/")
        text = text.replace("/var/run/nginx.pid", str(self.root / "nginx.pid"))
        text = text.replace("/var/www/acme", str(self.root / "acme"))
        text = text.replace("error_log /dev/stderr", f"error_log {self.error_log}")
        return text.replace("access_log /dev/stdout", f"access_log {self.access_log}")

    def _lay_out(self) -> None:
        root = self.root
        (root / "conf.d").mkdir(parents=True)
        (root / "snippets").mkdir()
        shutil.copy("/etc/nginx/mime.types", root / "mime.types")
        self.conf.write_text(self._relocate((SOURCE / "nginx.conf").read_text()))
        for snippet in (SOURCE / "snippets").glob("*.conf"):
            (root / "snippets" / snippet.name).write_text(self._relocate(snippet.read_text()))
        for template in (SOURCE / "templates").glob("*.template"):
            rendered = render(self._relocate(template.read_text()), self.values)
            assert "${CODETUTOR_" not in rendered, "a CODETUTOR_ variable was not rendered"
            (root / "conf.d" / template.name.removesuffix(".template")).write_text(rendered)
        # Debian's nginx keeps temporary files under /var/lib/nginx; keep them here
        temp = root / "tmp"
        temp.mkdir()
        os.chmod(temp, 0o777)
        (root / "conf.d" / "zz-test-paths.conf").write_text(
            "".join(
                f"{kind}_temp_path {temp / kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
        )
        make_certificate(root / "certs")

    def nginx(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, "-c", str(self.conf), "-e", str(self.error_log), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def start(self) -> None:
        check = self.nginx("-t")
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf), "-e", str(self.error_log), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{self.error_log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), 1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    @property
    def certificate(self) -> Path:
        return self.root / "certs" / "fullchain.pem"

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def expand_includes(text: str, root: Path) -> str:
    """``text`` with each ``include FILE;`` under ``root`` replaced by that file's text."""

    def inline(match: re.Match[str]) -> str:
        path = Path(match.group(1))
        if path.is_file() and root in path.parents:
            return expand_includes(path.read_text(), root)
        return match.group(0)

    return re.sub(r"include\s+([^;\s]+);", inline, text)


def parse_blocks(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every block of an nginx config: (its name and arguments, its own directives).

    A small reader of nginx syntax (comments, quoted strings, braces), enough to
    tell which directives each location sets.
    """
    tokens = re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};]+', re.sub(r"#[^\n]*", "", text))
    stack: list[tuple[list[str], list[list[str]]]] = []
    found: list[tuple[list[str], list[list[str]]]] = []
    current: list[str] = []
    for token in tokens:
        if token == "{":
            block: tuple[list[str], list[list[str]]] = (current, [])
            stack.append(block)
            found.append(block)
            current = []
        elif token == "}":
            stack.pop()
        elif token == ";":
            if stack:
                stack[-1][1].append(current)
            current = []
        else:
            current.append(token)
    return found
