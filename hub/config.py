"""The choices behind ``jupyterhub_config.py``: embedded default or production.

``jupyterhub_config.py`` (repository root) only assigns ``c.X.y = settings.…``.
:class:`HubSettings` holds every choice as a trait. Each trait is read, in this
order, from traitlets config (``c.HubSettings.mode = "production"`` in the same
file or a file loaded before it), from a ``CODETUTOR_*`` environment variable
(``codetutor up`` sets them for the Hub it starts; a deployment sets them in its
Compose file), or its default.

Embedded (``codetutor up``): SQLite files and every user's home in one data dir,
NativeAuthenticator, :class:`~codetutor.hub.spawner.BubblewrapSpawner`, the judge
and tutor as Hub-managed services on loopback, the idle culler.

Production: an OAuth/OIDC login (oauthenticator's ``generic-oauth``; its
``OAUTH_CLIENT_ID``, ``OAUTH_CLIENT_SECRET``, ``OAUTH_CALLBACK_URL``,
``OAUTH2_AUTHORIZE_URL``, ``OAUTH2_TOKEN_URL``, ``OAUTH2_USERDATA_URL``
environment variables), DockerSpawner (one container per user on an internal
network, a volume per user, memory and CPU limits), PostgreSQL and Redis URLs.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from traitlets import Bool, Enum, Float, Integer, List, Unicode, default
from traitlets.config import LoggingConfigurable

from codetutor.hub import roles

#: the Hub's environment variables the tutor service reads (its LLM endpoint's key, the cache)
TUTOR_ENVIRONMENT = ("CODETUTOR_LLM_API_KEY", "CODETUTOR_CACHE")

#: where ./dev installs configurable-http-proxy when it is not on PATH
PROXY_CACHE_BIN = "npm/bin/configurable-http-proxy"


def _env(name: str, fallback: str = "") -> str:
    return os.environ.get(name, "") or fallback


def repository_root() -> Path:
    """The directory holding the ``codetutor`` package (the repository, when installed -e)."""
    import codetutor

    return Path(codetutor.__file__).resolve().parent.parent


class HubSettings(LoggingConfigurable):
    """Every choice ``jupyterhub_config.py`` makes (see the module docstring)."""

    mode = Enum(
        ["embedded", "production"],
        help="embedded: one machine, SQLite, bubblewrap (codetutor up); production: "
        "OAuth, DockerSpawner, PostgreSQL/Redis. Env: CODETUTOR_MODE.",
    ).tag(config=True)

    @default("mode")
    def _default_mode(self) -> str:
        return _env("CODETUTOR_MODE", "embedded")

    data_dir = Unicode(
        help="Everything the Hub keeps (databases, homes, secrets). Env: CODETUTOR_DATA_DIR."
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return _env("CODETUTOR_DATA_DIR", str(Path.home() / ".codetutor"))

    ip = Unicode(help="Public address of the proxy. Env: CODETUTOR_IP.").tag(config=True)

    @default("ip")
    def _default_ip(self) -> str:
        return _env("CODETUTOR_IP", "127.0.0.1" if self.mode == "embedded" else "0.0.0.0")

    port = Integer(help="Public port of the proxy. Env: CODETUTOR_PORT.").tag(config=True)

    @default("port")
    def _default_port(self) -> int:
        return int(_env("CODETUTOR_PORT", "8000"))

    hub_port = Integer(help="Port of the Hub itself (loopback). Env: CODETUTOR_HUB_PORT.").tag(
        config=True
    )

    @default("hub_port")
    def _default_hub_port(self) -> int:
        return int(_env("CODETUTOR_HUB_PORT", "8081"))

    proxy_api_port = Integer(
        help="Port of the proxy's REST API. Env: CODETUTOR_PROXY_API_PORT."
    ).tag(config=True)

    @default("proxy_api_port")
    def _default_proxy_api_port(self) -> int:
        return int(_env("CODETUTOR_PROXY_API_PORT", "8001"))

    judge_port = Integer(help="Port of the judge service. Env: CODETUTOR_JUDGE_PORT.").tag(
        config=True
    )

    @default("judge_port")
    def _default_judge_port(self) -> int:
        return int(_env("CODETUTOR_JUDGE_PORT", "10101"))

    tutor_port = Integer(help="Port of the tutor service. Env: CODETUTOR_TUTOR_PORT.").tag(
        config=True
    )

    @default("tutor_port")
    def _default_tutor_port(self) -> int:
        return int(_env("CODETUTOR_TUTOR_PORT", "10102"))

    dashboard_port = Integer(
        help="Port of the class dashboard service. Env: CODETUTOR_DASHBOARD_PORT."
    ).tag(config=True)

    @default("dashboard_port")
    def _default_dashboard_port(self) -> int:
        return int(_env("CODETUTOR_DASHBOARD_PORT", "10103"))

    services_host = Unicode(
        help="Host name the judge and tutor services listen on and user servers reach them "
        "at. Env: CODETUTOR_SERVICES_HOST (production: the Hub container's name)."
    ).tag(config=True)

    @default("services_host")
    def _default_services_host(self) -> str:
        return _env("CODETUTOR_SERVICES_HOST", "127.0.0.1")

    hub_connect_ip = Unicode(
        help="Address user servers reach the Hub at (production: the Hub container's name). "
        "Env: CODETUTOR_HUB_CONNECT_IP; empty: the Hub's own address."
    ).tag(config=True)

    @default("hub_connect_ip")
    def _default_hub_connect_ip(self) -> str:
        return _env("CODETUTOR_HUB_CONNECT_IP")

    judge_workers = Integer(help="Judge worker processes. Env: CODETUTOR_JUDGE_WORKERS.").tag(
        config=True
    )

    @default("judge_workers")
    def _default_judge_workers(self) -> int:
        return int(_env("CODETUTOR_JUDGE_WORKERS", "2"))

    judge_db_url = Unicode(
        help="The judge's database. Env: CODETUTOR_JUDGE_DB_URL; default: SQLite in the data dir."
    ).tag(config=True)

    @default("judge_db_url")
    def _default_judge_db_url(self) -> str:
        return _env("CODETUTOR_JUDGE_DB_URL", f"sqlite:///{self.path('judge', 'judge.sqlite')}")

    transcripts_url = Unicode(
        help="Where the tutor records whole conversations for the instructors' dashboard. "
        "Env: CODETUTOR_TRANSCRIPTS_URL; default: the judge's database when that is a "
        "server (its own table there), else SQLite in the data dir."
    ).tag(config=True)

    @default("transcripts_url")
    def _default_transcripts_url(self) -> str:
        if self.judge_db_url.startswith("postgresql"):
            fallback = self.judge_db_url
        else:
            fallback = f"sqlite:///{self.path('tutor', 'transcripts.sqlite')}"
        return _env("CODETUTOR_TRANSCRIPTS_URL", fallback)

    hub_db_url = Unicode(
        help="The Hub's database. Env: CODETUTOR_HUB_DB_URL; default: SQLite in the data dir."
    ).tag(config=True)

    @default("hub_db_url")
    def _default_hub_db_url(self) -> str:
        return _env("CODETUTOR_HUB_DB_URL", f"sqlite:///{self.path('hub', 'jupyterhub.sqlite')}")

    redis_url = Unicode(
        help="Redis for the judge queue and rate limits; empty: none. Env: CODETUTOR_REDIS_URL."
    ).tag(config=True)

    @default("redis_url")
    def _default_redis_url(self) -> str:
        return _env("CODETUTOR_REDIS_URL")

    llm_url = Unicode(
        help="An OpenAI-compatible endpoint (…/v1) for the tutor; empty: the bundled model "
        "in-process. Env: CODETUTOR_LLM_URL."
    ).tag(config=True)

    @default("llm_url")
    def _default_llm_url(self) -> str:
        return _env("CODETUTOR_LLM_URL")

    admin_users = List(
        Unicode(), help="Hub admins. Env: CODETUTOR_ADMIN_USERS (comma-separated); default admin."
    ).tag(config=True)

    @default("admin_users")
    def _default_admin_users(self) -> list[str]:
        return [n for n in _env("CODETUTOR_ADMIN_USERS", "admin").split(",") if n]

    admin_token = Unicode(
        help="An API token with the admin role (and the instructor's scopes), for automation. "
        "Env: CODETUTOR_ADMIN_TOKEN; empty: none."
    ).tag(config=True)

    @default("admin_token")
    def _default_admin_token(self) -> str:
        return _env("CODETUTOR_ADMIN_TOKEN")

    metrics_token = Unicode(
        help="A token for Prometheus to read /hub/metrics with (a Hub service 'prometheus' "
        "with the read:metrics scope). Env: CODETUTOR_METRICS_TOKEN, or the file named by "
        "CODETUTOR_METRICS_TOKEN_FILE; empty: none."
    ).tag(config=True)

    @default("metrics_token")
    def _default_metrics_token(self) -> str:
        path = _env("CODETUTOR_METRICS_TOKEN_FILE")
        if path and Path(path).is_file():
            return Path(path).read_text().strip()
        return _env("CODETUTOR_METRICS_TOKEN")

    accounts_file = Unicode(
        help="Accounts NativeAuthenticator creates at start (written by codetutor up). "
        "Env: CODETUTOR_ACCOUNTS_FILE."
    ).tag(config=True)

    @default("accounts_file")
    def _default_accounts_file(self) -> str:
        return _env("CODETUTOR_ACCOUNTS_FILE")

    idle_timeout_s = Integer(
        help="Stop a user's server after this long without activity. Env: CODETUTOR_IDLE_TIMEOUT_S."
    ).tag(config=True)

    @default("idle_timeout_s")
    def _default_idle_timeout(self) -> int:
        return int(_env("CODETUTOR_IDLE_TIMEOUT_S", "3600"))

    mem_limit = Unicode(
        help="Memory limit of one user's server. Env: CODETUTOR_USER_MEM_LIMIT."
    ).tag(config=True)

    @default("mem_limit")
    def _default_mem_limit(self) -> str:
        return _env("CODETUTOR_USER_MEM_LIMIT", "2G")

    cpu_limit = Float(help="CPU cores of one user's server. Env: CODETUTOR_USER_CPU_LIMIT.").tag(
        config=True
    )

    @default("cpu_limit")
    def _default_cpu_limit(self) -> float:
        return float(_env("CODETUTOR_USER_CPU_LIMIT", "1"))

    user_image = Unicode(help="Production: the single-user image. Env: CODETUTOR_USER_IMAGE.").tag(
        config=True
    )

    @default("user_image")
    def _default_user_image(self) -> str:
        return _env("CODETUTOR_USER_IMAGE", "codetutor-singleuser:latest")

    docker_network = Unicode(
        help="Production: the internal Docker network user containers join (it reaches the "
        "Hub and its services, not the internet). Env: CODETUTOR_DOCKER_NETWORK."
    ).tag(config=True)

    @default("docker_network")
    def _default_docker_network(self) -> str:
        return _env("CODETUTOR_DOCKER_NETWORK", "codetutor-internal")

    oauth_allowed_groups = List(
        Unicode(),
        help="Production: identity-provider groups allowed to log in; empty: everyone the "
        "provider authenticates. Env: CODETUTOR_OAUTH_ALLOWED_GROUPS (comma-separated).",
    ).tag(config=True)

    @default("oauth_allowed_groups")
    def _default_oauth_allowed_groups(self) -> list[str]:
        return [g for g in _env("CODETUTOR_OAUTH_ALLOWED_GROUPS").split(",") if g]

    lti_config_file = Unicode(
        help="An LTI 1.3 platform registration (pylti1p3 tool configuration JSON; docs/lti.md): "
        "when set, users log in from the school's LMS (codetutor.hub.lti.LTIAuthenticator) "
        "and the judge sends grades back to it. Env: CODETUTOR_LTI_CONFIG; empty: no LTI."
    ).tag(config=True)

    @default("lti_config_file")
    def _default_lti_config_file(self) -> str:
        return _env("CODETUTOR_LTI_CONFIG")

    proxy_command = List(
        Unicode(), help="configurable-http-proxy's command. Env: CODETUTOR_PROXY_COMMAND."
    ).tag(config=True)

    @default("proxy_command")
    def _default_proxy_command(self) -> list[str]:
        return [find_proxy()]

    metrics_authenticated = Bool(
        help="Whether /hub/metrics needs a token (read:metrics). Default: only in production, "
        "where nginx keeps it from the outside; embedded, Prometheus on loopback scrapes it."
    ).tag(config=True)

    @default("metrics_authenticated")
    def _default_metrics_authenticated(self) -> bool:
        return self.mode == "production"

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    def path(self, *parts: str) -> str:
        """A path inside the data dir."""
        return str(Path(self.data_dir, *parts))

    # -- what jupyterhub_config.py assigns ----------------------------------

    @property
    def authenticator_class(self) -> str:
        if self.lti_config_file:
            return "codetutor.hub.lti.LTIAuthenticator"
        if self.embedded:
            return "codetutor.hub.auth.CodeTutorAuthenticator"
        return "generic-oauth"

    @property
    def template_paths(self) -> list[str]:
        """``c.JupyterHub.template_paths``: JupyterHub's pages with Code Tutor's additions
        (``hub/templates``: the admins' link to pending sign-ups)."""
        return [str(Path(__file__).with_name("templates"))]

    @property
    def template_vars(self) -> dict[str, str]:
        """``c.JupyterHub.template_vars``: where admins approve sign-ups (NativeAuthenticator's
        page, embedded only; production's identity provider has no sign-ups here)."""
        return {"codetutor_signups_url": "authorize" if self.embedded else ""}

    @property
    def spawner_class(self) -> str:
        if self.embedded:
            return "codetutor.hub.spawner.BubblewrapSpawner"
        return "dockerspawner.DockerSpawner"

    @property
    def bind_url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    @property
    def hub_bind_url(self) -> str:
        host = "127.0.0.1" if self.embedded else "0.0.0.0"
        return f"http://{host}:{self.hub_port}"

    @property
    def judge_url(self) -> str:
        """The judge service's base URL, as user servers reach it."""
        return f"http://{self.services_host}:{self.judge_port}/services/{roles.JUDGE_SERVICE}/"

    @property
    def tutor_url(self) -> str:
        """The tutor service's base URL, as user servers reach it."""
        return f"http://{self.services_host}:{self.tutor_port}/services/{roles.TUTOR_SERVICE}/"

    def services(self) -> list[dict[str, Any]]:
        """``c.JupyterHub.services``: judge, tutor, idle culler (and the admin and metrics tokens)."""
        python = sys.executable
        judge = [
            python,
            "-m",
            "codetutor",
            "judge-service",
            f"--workers={self.judge_workers}",
            f"--db-url={self.judge_db_url}",
        ]
        if self.redis_url:
            judge.append(f"--redis-url={self.redis_url}")
        if self.lti_config_file:
            # grade passback after each verdict (codetutor.judge.lti_passback)
            judge.append(f"--GradePassback.tool_config_file={self.lti_config_file}")
        tutor = [
            python,
            "-m",
            "codetutor",
            "tutor",
            "serve",
            f"--ip={self.services_host}",
            f"--port={self.tutor_port}",
            # the tutor's one door into the judge: its endpoints, with the tutor's token
            f"--JudgeClient.url={self.judge_url}",
            # whole conversations, for the dashboard's conversations page
            f"--Transcripts.url={self.transcripts_url}",
        ]
        if self.llm_url:
            tutor.append(f"--llm-url={self.llm_url}")
        if self.redis_url:
            tutor.append(f"--RateLimiter.redis_url={self.redis_url}")
            # chat turns and hint counts shared by replicas and kept across restarts
            tutor.append(f"--ChatMemory.redis_url={self.redis_url}")
        services: list[dict[str, Any]] = [
            {
                "name": roles.JUDGE_SERVICE,
                "url": f"http://{self.services_host}:{self.judge_port}",
                "command": judge,
                "cwd": self.path("judge"),
                "oauth_no_confirm": True,
                # a browser's login (OAuth) carries the judge scopes its user holds, so an
                # instructor can read the class's submissions in the browser
                "oauth_client_allowed_scopes": [
                    roles.SCOPE_SUBMIT,
                    roles.SCOPE_READ_ALL,
                    roles.SCOPE_PUBLISH,
                ],
                "display": False,
            },
            {
                "name": roles.TUTOR_SERVICE,
                "url": f"http://{self.services_host}:{self.tutor_port}",
                "command": tutor,
                # The Hub passes services only the variables named here (and PATH, LANG, ...).
                "environment": {
                    name: os.environ[name] for name in TUTOR_ENVIRONMENT if os.environ.get(name)
                },
                "cwd": self.path("tutor"),
                "oauth_no_confirm": True,
                "display": False,
            },
            {
                # the instructors' class dashboard, in the Hub's Services menu
                "name": roles.DASHBOARD_SERVICE,
                "url": f"http://{self.services_host}:{self.dashboard_port}",
                "command": [
                    python,
                    "-m",
                    "codetutor",
                    "dashboard",
                    f"--db-url={self.judge_db_url}",
                    f"--Transcripts.url={self.transcripts_url}",
                ],
                "cwd": self.path("judge"),
                "oauth_no_confirm": True,
                "display": True,
            },
            {
                "name": roles.CULLER_SERVICE,
                "command": [
                    python,
                    "-m",
                    "jupyterhub_idle_culler",
                    f"--timeout={self.idle_timeout_s}",
                ],
            },
        ]
        if self.admin_token:
            services.append({"name": roles.ADMIN_SERVICE, "api_token": self.admin_token})
        if self.metrics_token:
            services.append({"name": roles.METRICS_SERVICE, "api_token": self.metrics_token})
        return services

    def load_roles(self) -> list[dict[str, Any]]:
        """``c.JupyterHub.load_roles``: :func:`roles.load_roles`, with the tokens' services."""
        return roles.load_roles(
            admin_service=bool(self.admin_token), metrics_service=bool(self.metrics_token)
        )

    def user_environment(self) -> dict[str, str]:
        """``c.Spawner.environment``: where the server extension finds the services."""
        return {
            "CODETUTOR_JUDGE_URL": self.judge_url,
            "CODETUTOR_TUTOR_URL": self.tutor_url,
        }


def find_proxy() -> str:
    """configurable-http-proxy: CODETUTOR_PROXY_COMMAND, PATH, or ./dev's npm cache."""
    configured = _env("CODETUTOR_PROXY_COMMAND")
    if configured:
        return configured
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    cache = Path(_env("CODETUTOR_CACHE", "/var/cache/codetutor"), PROXY_CACHE_BIN)
    return str(cache) if cache.exists() else "configurable-http-proxy"
