"""The checked-in OpenAPI description holds for the running service (schemathesis).

Schemathesis generates requests from ``judge/openapi.yaml`` (valid and
invalid ones) and checks every answer: no server errors, status codes,
content types, headers and bodies as documented, authentication enforced.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from judge_service_helpers import (
    ACCEPTED,
    Client,
    FakeHub,
    ServiceProcess,
    problem_notebook,
)
from schemathesis.specs.openapi.checks import positive_data_acceptance

from codetutor.judge import service as judge_service

pytestmark = pytest.mark.slow

UNTHROTTLED = """
c.RateLimiter.limits = {"api": {"rate": 10000, "burst": 10000}}
c.JudgeServiceApp.stream_max_s = 30
"""


class Running:
    def __init__(self, service: ServiceProcess, token: str) -> None:
        self.service = service
        self.token = token


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    hub = FakeHub()
    hub.start()
    workdir = tmp_path_factory.mktemp("openapi")
    service = ServiceProcess(
        hub=hub,
        db_url=f"sqlite:///{workdir / 'judge.sqlite'}",
        workdir=workdir,
        workers=1,
        config=UNTHROTTLED,
    )
    service.start()
    token = hub.add_user(
        "teacher", "custom:judge:submit", "custom:judge:read-all", "custom:problems:write"
    )
    teacher = Client(service, token)
    assert teacher.post("api/problems", json=problem_notebook()).status_code == 201
    r = teacher.post("api/submissions", json={"problem": "add", "code": ACCEPTED})
    teacher.wait_judged(r.json()["id"])
    try:
        yield Running(service, token)
    finally:
        service.stop()
        hub.stop()


schema = schemathesis.openapi.from_path(judge_service.OPENAPI)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    # the same examples every run, so CI is reproducible; to explore new
    # ones, run it by hand without derandomize
    derandomize=True,
    # and only those: no replay of examples saved by exploratory runs (.hypothesis/)
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_service_matches_its_openapi_description(
    case: schemathesis.Case, running: Running
) -> None:
    # Whether a notebook is a valid *problem* (its reference solution passes
    # its tests) is beyond what a schema can say: publishing answers 422 to
    # schema-valid notebooks that are not, and so does validating one.
    semantic = case.operation.label in ("POST /api/problems", "POST /api/validate")
    case.call_and_validate(
        base_url=running.service.url("").rstrip("/"),
        headers={"Authorization": f"token {running.token}"},
        excluded_checks=[positive_data_acceptance] if semantic else [],
        timeout=60,
    )


def test_the_service_serves_the_checked_in_description(running: Running) -> None:
    served = requests.get(running.service.url("api/openapi.yaml"), timeout=10)
    assert served.status_code == 200
    assert served.content == Path(judge_service.OPENAPI).read_bytes()
