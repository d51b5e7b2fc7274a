"""JSON logs for every Code Tutor process, the Hub's own included.

One JSON object per line on stderr, which the Compose stack's log shipper (Vector,
``monitoring/vector/vector.yaml``) parses and sends to Loki. Each record carries
``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``event`` (the message with its
``%s`` arguments filled in), ``exception`` when there is one, and whatever context
the code bound with :func:`structlog.contextvars.bind_contextvars` — by convention
``request_id`` (nginx's ``X-Request-Id``), ``user`` and ``submission_id``.

- :class:`JSONFormatter` renders any standard-library record that way (ours,
  tornado's, traitlets', JupyterHub's). It takes no arguments, so ``logging``'s
  ``dictConfig`` can build it (``{"()": "codetutor.logging.JSONFormatter"}``).
- :func:`configure_logging` routes a whole service process through it.
- :func:`hub_logging_config` is the value for ``c.JupyterHub.logging_config`` that
  makes the Hub log the same way (JupyterHub is a traitlets ``Application``, which
  merges ``logging_config`` into its own and hands the result to ``dictConfig``).
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

import structlog

#: Processors applied to every record before it is rendered, ours and foreign.
_PRE_CHAIN: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class JSONFormatter(structlog.stdlib.ProcessorFormatter):
    """A :class:`logging.Formatter` writing each record as one JSON object."""

    def __init__(self) -> None:
        super().__init__(
            foreign_pre_chain=_PRE_CHAIN,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )


def configure_logging(level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Send every log record of this process to ``stream`` (stderr) as JSON lines.

    Replaces the root logger's handlers with one :class:`JSONFormatter` handler and
    configures structlog's own loggers (``structlog.get_logger()``) to end there too.
    Call once, at start-up, before logging anything.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[*_PRE_CHAIN, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def hub_logging_config() -> dict[str, Any]:
    """``c.JupyterHub.logging_config``: the Hub's console handler writes JSON lines.

    Merged by traitlets into the Hub's default logging configuration, it swaps the
    formatter of the ``console`` handler (stderr) for :class:`JSONFormatter`; the
    Hub's level, and its hooking of tornado's loggers to its own, stay as they are.
    """
    return {
        "formatters": {"json": {"()": f"{JSONFormatter.__module__}.JSONFormatter"}},
        "handlers": {"console": {"formatter": "json"}},
    }
