"""codetutor.logging: JSON lines with request context, for services and the Hub.

Each case runs in a fresh Python process (logging configuration is process-wide)
and reads back what that process wrote to stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import MONITORING


def run_python(code: str, cwd: Path) -> list[dict[str, Any]]:
    """Run ``code`` in a new interpreter; every line of its stderr parsed as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    records = []
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert isinstance(record, dict)
        records.append(record)
    return records


def test_service_logs_carry_request_user_and_submission(tmp_path: Path) -> None:
    records = run_python(
        """
        import logging, structlog
        from codetutor.logging import configure_logging
        configure_logging()
        structlog.contextvars.bind_contextvars(request_id="r-1", user="지수", submission_id=42)
        logging.getLogger("codetutor.judge.worker").info("judged submission %s in %.1f ms", 42, 12.5)
        structlog.get_logger("codetutor.tutor").warning("queue full", depth=9)
        structlog.contextvars.clear_contextvars()
        try:
            1 / 0
        except ZeroDivisionError:
            logging.getLogger("tornado.application").exception("handler failed")
        logging.getLogger("codetutor").debug("not shown at INFO")
        """,
        tmp_path,
    )
    assert len(records) == 3
    judged, full, failed = records
    assert judged["event"] == "judged submission 42 in 12.5 ms"
    assert judged["level"] == "info" and judged["logger"] == "codetutor.judge.worker"
    assert (judged["request_id"], judged["user"], judged["submission_id"]) == ("r-1", "지수", 42)
    assert judged["timestamp"].endswith("Z")
    assert full["event"] == "queue full" and full["depth"] == 9 and full["level"] == "warning"
    assert full["user"] == "지수"
    assert failed["level"] == "error" and "user" not in failed
    assert "ZeroDivisionError" in failed["exception"]


def test_hub_logs_are_json_through_its_logging_config(tmp_path: Path) -> None:
    config = tmp_path / "jupyterhub_config.py"
    config.write_text(
        "from codetutor.logging import hub_logging_config\n"
        "c.JupyterHub.logging_config = hub_logging_config()\n"
        "c.JupyterHub.log_level = 'INFO'\n"
    )
    records = run_python(
        f"""
        import logging
        from tornado.log import access_log
        from jupyterhub.app import JupyterHub
        app = JupyterHub()
        app.load_config_file({str(config)!r})
        app.init_logging()
        app.log.info("Hub %s is running at %s", "5", "http://hub:8081")
        access_log.info("302 GET /hub/ -> /hub/login (@10.0.0.7) 1.20ms")
        logging.getLogger("tornado.general").warning("websocket closed")
        app.log.debug("hidden at INFO")
        """,
        tmp_path,
    )
    events = [r["event"] for r in records]
    assert events == [
        "Hub 5 is running at http://hub:8081",
        "302 GET /hub/ -> /hub/login (@10.0.0.7) 1.20ms",
        "websocket closed",
    ]
    assert {r["logger"] for r in records} <= {"JupyterHub", "tornado.general"}
    assert [r["level"] for r in records] == ["info", "info", "warning"]


def test_the_shipper_labels_use_fields_we_log() -> None:
    vector = yaml.safe_load((MONITORING / "vector" / "vector.yaml").read_text())
    sink = vector["sinks"]["loki"]
    assert sink["type"] == "loki" and sink["endpoint"] == "http://loki:3100"
    assert sink["inputs"] == ["parsed"]
    assert vector["transforms"]["parsed"]["inputs"] == ["containers"]
    assert sink["labels"]["level"] == "{{ level }}"
    assert "parse_json(.message)" in vector["transforms"]["parsed"]["source"]
    loki = yaml.safe_load((MONITORING / "loki" / "loki.yml").read_text())
    assert loki["server"]["http_listen_port"] == 3100
    assert loki["schema_config"]["configs"][0]["store"] == "tsdb"
    assert loki["limits_config"]["retention_period"] == "720h"


@pytest.mark.parametrize(
    ("app", "logger"),
    [
        ("codetutor.judge.service.JudgeServiceApp", "codetutor.judge.service"),
        ("codetutor.insight.app.DashboardApp", "codetutor.insight"),
        ("codetutor.tutor.app.LLMServeApp", "codetutor.tutor"),
        ("codetutor.tutor.app.TutorServeApp", "codetutor.tutor"),
        ("codetutor.judge.worker.JudgeWorkerApp", "codetutor.judge.worker"),
    ],
)
def test_every_service_logs_json_the_same_way(tmp_path: Path, app: str, logger: str) -> None:
    module, _, name = app.rpartition(".")
    config = tmp_path / "service_config.py"
    config.write_text("c.Application.log_level = 'INFO'\n")
    records = run_python(
        f"""
        import logging
        from {module} import {name}
        app = {name}()
        app.initialize(["--config={config}"])
        app.log.info("ready on port %s", 8000)
        logging.getLogger("tornado.access").warning("404 GET /nowhere 0.3ms")
        """,
        tmp_path,
    )
    assert [(r["logger"], r["event"], r["level"]) for r in records] == [
        (logger, "ready on port 8000", "info"),
        ("tornado.access", "404 GET /nowhere 0.3ms", "warning"),
    ]
