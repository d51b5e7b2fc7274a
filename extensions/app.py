"""The Code Tutor Jupyter Server extension (:class:`CodeTutorExtension`).

Enabled in every Jupyter server of the environment by the ``jupyter-config``
file the package ships (``etc/jupyter/jupyter_server_config.d/codetutor.json``).
Its REST and WebSocket API lives under ``/codetutor/api/`` (see
:mod:`codetutor.extensions.handlers` and ``extensions/README.md``); it reaches the
judge and tutor Hub services with the server's own Hub token.
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Instance, Unicode, default

from .client import ServiceClient


class CodeTutorExtension(ExtensionApp):
    """Problems, submissions, live verdicts, tutor chat, reviews and publishing in Jupyter."""

    name = "codetutor"
    # Handlers sit under /codetutor/api/ (not under /codetutor/ as a page would).
    default_url = "/codetutor/api/problems"
    load_other_extensions = True

    judge_url = Unicode(
        help="Base URL of the judge service (…/services/judge/). "
        "Default: $CODETUTOR_JUDGE_URL (set by the Hub's spawner)."
    ).tag(config=True)

    @default("judge_url")
    def _default_judge_url(self) -> str:
        return os.environ.get("CODETUTOR_JUDGE_URL", "")

    tutor_url = Unicode(
        help="Base URL of the tutor service (…/services/tutor/). "
        "Default: $CODETUTOR_TUTOR_URL (set by the Hub's spawner)."
    ).tag(config=True)

    @default("tutor_url")
    def _default_tutor_url(self) -> str:
        return os.environ.get("CODETUTOR_TUTOR_URL", "")

    hub_token = Unicode(
        help="The Hub token the services are called with. "
        "Default: $JUPYTERHUB_API_TOKEN, this server's own token."
    ).tag(config=True)

    @default("hub_token")
    def _default_hub_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    stream_timeout_s = Float(
        600.0, help="Longest a live submission stream is followed for a client."
    ).tag(config=True)

    judge = Instance(ServiceClient)
    tutor = Instance(ServiceClient)

    @default("judge")
    def _default_judge(self) -> ServiceClient:
        return ServiceClient(
            parent=self, service="judge", base_url=self.judge_url, token=self.hub_token
        )

    @default("tutor")
    def _default_tutor(self) -> ServiceClient:
        return ServiceClient(
            parent=self, service="tutor", base_url=self.tutor_url, token=self.hub_token
        )

    def initialize_settings(self) -> None:
        self.settings.update(
            codetutor_judge=self.judge,
            codetutor_tutor=self.tutor,
            codetutor_stream_timeout_s=self.stream_timeout_s,
        )
        if not self.judge_url or not self.tutor_url:
            self.log.warning(
                "Code Tutor: judge_url or tutor_url is not set; those endpoints answer 503"
            )

    def initialize_handlers(self) -> None:
        from .authoring import handlers as authoring_handlers
        from .handlers import handlers

        self.handlers.extend(handlers())
        self.handlers.extend(authoring_handlers())

    def _prepare_templates(self) -> None:
        # The extension serves JSON only: no templates.
        return


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "codetutor.extensions.app", "app": CodeTutorExtension}]
