"""monitoring/: Prometheus config and alert rules checked and unit-tested by promtool,
Grafana provisioning and dashboards whose every query names a metric that is really
exported — by our running services, JupyterHub, or the exporters run here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.tutor.conftest import llm_url

from .conftest import MONITORING, require_tool
from .nginx_helpers import NginxServer, free_port

__all__ = ["llm_url"]

RULES = MONITORING / "rules" / "alerts.yml"
RULE_TESTS = MONITORING / "rules" / "alerts_test.yml"
DASHBOARDS = MONITORING / "grafana" / "dashboards"
PROVISIONING = MONITORING / "grafana" / "provisioning"
EXPORTERS = yaml.safe_load((MONITORING / "exporter-metrics.yml").read_text())["exporters"]

#: What the alerts must cover, by name: the original design's five under its own names
#: (operators follow that document), and what was added beside them.
REQUIRED_ALERTS = {
    "HighErrorRate",
    "SlowResponseTime",
    "HighMemoryUsage",
    "HighGPUMemory",
    "DatabaseConnectionPoolExhausted",
    "JudgeQueueBacklog",
    "LLMTimeToFirstTokenSlow",
}

#: Grafana's own variables, replaced by a plain value before parsing a query.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("promtool"), *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def loopback() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def metric_names(exposition: str) -> set[str]:
    """Every series name a Prometheus text exposition declares or holds.

    A labelled metric with no child yet shows only its ``# TYPE`` line; its series
    names follow from the type (``_total`` of a counter, ``_bucket``/``_count``/
    ``_sum`` of a histogram), as they will once it has samples.
    """
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_count", "_sum"),
        "summary": ("_count", "_sum"),
    }
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def selectors(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (parsed, not pattern-matched)."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"a selector without a metric name in {expr!r}"
            found.add(node.name)
            return
        for attribute in ("lhs", "rhs", "expr", "vector_selector", "param", "args"):
            child = getattr(node, attribute, None)
            for item in child if isinstance(child, list) else [child]:
                if item is not None and not isinstance(item, str | int | float):
                    walk(item)

    walk(promql_parser.parse(expr))
    return found


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) of every Prometheus query of every dashboard."""
    queries = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                if target["datasource"]["type"] == "prometheus":
                    queries.append((path.name, panel["title"], target["expr"]))
    return queries


def rule_expressions() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]


# -- promtool ---------------------------------------------------------------------


def test_promtool_check_config(tmp_path: Path) -> None:
    # as deployed: the Hub's metrics token is a file beside prometheus.yml
    copy = tmp_path / "monitoring"
    shutil.copytree(MONITORING, copy)
    (copy / "secrets").mkdir()
    (copy / "secrets" / "hub_metrics_token").write_text("token\n")
    result = promtool("check", "config", str(copy / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rule_expressions())} rules found" in result.stdout


def test_promtool_test_rules() -> None:
    result = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_quiet() -> None:
    alerts = {name for name, _ in rule_expressions()}
    assert alerts >= REQUIRED_ALERTS
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fired == alerts
    assert quiet == alerts


def test_a_broken_rule_test_fails(tmp_path: Path) -> None:
    """promtool really evaluates the rules: a wrong expectation is caught."""
    shutil.copy(RULES, tmp_path / "alerts.yml")
    broken = RULE_TESTS.read_text().replace(
        "severity: critical\n              job: judge",
        "severity: warning\n              job: judge",
        1,
    )
    assert broken != RULE_TESTS.read_text()
    (tmp_path / "alerts_test.yml").write_text(broken)
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0


# -- Grafana ------------------------------------------------------------------------


def test_provisioning_points_at_the_dashboards() -> None:
    sources = yaml.safe_load((PROVISIONING / "datasources" / "datasources.yml").read_text())
    uids = {s["uid"]: s["type"] for s in sources["datasources"]}
    assert uids == {"prometheus": "prometheus", "loki": "loki"}
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "dashboards.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for path in DASHBOARDS.glob("*.json"):
        dashboard = json.loads(path.read_text())
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                assert uids[target["datasource"]["uid"]] == target["datasource"]["type"]


def test_dashboards_show_what_the_issue_asks() -> None:
    queries = " ".join(expr for _, _, expr in dashboard_queries())
    for metric in (
        "http_requests_total",  # request rate, error rate
        "llm_inference_duration_seconds_bucket",  # LLM latency p95
        "submissions_total",  # submissions by verdict
        "DCGM_FI_DEV_FB_USED",  # GPU memory
        "judge_queue_depth",  # queue depth
        "active_users",
    ):
        assert metric in queries, metric


def test_every_query_parses() -> None:
    for name, title, expr in dashboard_queries():
        assert selectors(expr), f"{name}: {title}: no metric in {expr!r}"
    for alert, expr in rule_expressions():
        assert selectors(expr), alert


# -- what is really exported ----------------------------------------------------------


def wait_for_metrics(url: str, wanted: set[str], timeout_s: float = 30) -> set[str]:
    """The sample names at ``url`` once they include ``wanted`` (or at the deadline)."""
    session = loopback()
    deadline = time.monotonic() + timeout_s
    names: set[str] = set()
    while time.monotonic() < deadline:
        try:
            r = session.get(url, timeout=5)
            if r.status_code == 200:
                names = metric_names(r.text)
                if wanted <= names:
                    return names
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    return names


class Exporter:
    """A Debian-packaged Prometheus exporter on a loopback port."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def exporters(postgres_server: Any, redis_server: Any, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The /metrics URL of each exporter marked ``run`` in exporter-metrics.yml."""
    nginx = NginxServer(tmp_path / "nginx", upstream="127.0.0.1:9")
    nginx.start()
    ports = {name: free_port() for name in ("node", "postgres", "redis", "nginx")}
    address = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    started = [
        Exporter(
            [
                require_tool("prometheus-node-exporter"),
                f"--web.listen-address={address['node']}",
            ]
        ),
        Exporter(
            [
                require_tool("prometheus-postgres-exporter"),
                f"--web.listen-address={address['postgres']}",
            ],
            env={
                "DATA_SOURCE_NAME": f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres?sslmode=disable",
                "PATH": "/usr/bin:/bin",
            },
        ),
        Exporter(
            [
                require_tool("prometheus-redis-exporter"),
                f"-redis.addr=redis://127.0.0.1:{redis_server.port}",
                f"-web.listen-address={address['redis']}",
            ]
        ),
        Exporter(
            [
                require_tool("prometheus-nginx-exporter"),
                f"-nginx.scrape-uri=http://127.0.0.1:{nginx.status_port}/stub_status",
                f"-web.listen-address={address['nginx']}",
            ]
        ),
    ]
    try:
        yield {name: f"http://{a}/metrics" for name, a in address.items()}
    finally:
        for exporter in started:
            exporter.stop()
        nginx.stop()


@pytest.fixture
def judge_metrics(tmp_path: Path) -> Iterator[set[str]]:
    """Sample names at a running ``codetutor judge-service``'s /metrics (SQLite)."""
    from judge_service_helpers import FakeHub, ServiceProcess

    hub = FakeHub()
    hub.start()
    service = ServiceProcess(
        hub=hub, db_url=f"sqlite:///{tmp_path / 'judge.sqlite'}", workdir=tmp_path, workers=0
    )
    try:
        service.start()
        yield metric_names(loopback().get(service.url("metrics"), timeout=30).text)
    finally:
        service.stop()
        hub.stop()


def hub_metrics() -> set[str]:
    """What JupyterHub's /hub/metrics serves: its metrics module's registry."""
    import jupyterhub.metrics  # noqa: F401  (registers the Hub's metrics)
    from prometheus_client import REGISTRY, generate_latest

    return metric_names(generate_latest(REGISTRY).decode())


@pytest.mark.slow
def test_every_query_names_an_exported_metric(
    exporters: dict[str, str], judge_metrics: set[str], llm_url: str
) -> None:
    exported: dict[str, set[str]] = {
        "judge": judge_metrics,
        "llm": metric_names(loopback().get(llm_url + "/metrics", timeout=30).text),
        "hub": hub_metrics(),
    }
    for name, spec in EXPORTERS.items():
        wanted = set(spec["metrics"])
        if spec["run"]:
            names = wait_for_metrics(exporters[name], wanted)
            assert wanted <= names, f"{name} exporter lacks {wanted - names}"
        exported[name] = wanted
    # the names SPEC.md section 8 fixes
    ours = exported["judge"] | exported["llm"]
    for metric in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "llm_inference_duration_seconds_bucket",
        "llm_tokens_generated_total",
        "code_execution_duration_seconds_bucket",
        "active_sandboxes",
        "submissions_total",
        "active_users",
    ):
        assert metric in ours, metric
    everything = set().union(*exported.values())
    for dashboard, title, expr in dashboard_queries():
        missing = selectors(expr) - everything
        assert not missing, f"{dashboard}: {title}: {sorted(missing)} not exported"
    for alert, expr in rule_expressions():
        missing = selectors(expr) - everything
        assert not missing, f"alert {alert}: {sorted(missing)} not exported"


def test_selectors_reads_names_not_words() -> None:
    expr = 'sum by (job) (rate(foo_total{status=~"5.."}[5m])) / on (job) max(bar) > 0 and up'
    assert selectors(expr) == {"foo_total", "bar", "up"}
    with pytest.raises(ValueError):
        selectors("sum(rate(foo[5m])")
    assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", "DCGM_FI_DEV_FB_USED")
