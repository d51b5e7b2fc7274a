"""Code Tutor's Jupyter Server extension (enabled by the shipped jupyter-config file).

:class:`codetutor.extensions.app.CodeTutorExtension` serves the REST and WebSocket
API under ``/codetutor/api/`` that the JupyterLab front end uses.
"""

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import CodeTutorExtension

    return [{"module": "codetutor.extensions.app", "app": CodeTutorExtension}]
