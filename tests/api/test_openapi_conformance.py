"""Every service answers as its OpenAPI document says: schemathesis against each app, in-process.

Each app runs with its lifespan (schemathesis' ASGI client starts it) against the real FerretDB
and Kafka, on its own topics and database. For every operation schemathesis generates requests,
valid ones and invalid ones, seeded (`derandomize`: the same requests every run) and bounded
(EXAMPLES per operation and mode), sends them with a district token and checks the answers: no
server error, the status code is documented, so is the content type, and the body matches the
documented schema. What it finds is printed per service, and the test fails on any finding.

Methods a path does not declare (`DELETE /health`) must be answered with 405, an `Allow` header
naming the declared ones, and a problem document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from rbn_shared.http import PROBLEM_JSON
from tests.support.infra import Infra

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 12  # per operation and generation mode: the three services in a few minutes
DISTRICT_TOKEN = "district-token-for-the-api-tests"
TOKENS = {DISTRICT_TOKEN: "district", "reader-token-for-the-api-tests": "reader"}
AUTH = {"Authorization": f"Bearer {DISTRICT_TOKEN}"}
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")


def _settings_kwargs(isolated: dict[str, str]) -> dict[str, Any]:
    return {
        "kafka_bootstrap_servers": isolated["RBN_KAFKA_BOOTSTRAP_SERVERS"],
        "mongo_url": isolated["RBN_MONGO_URL"],
        "mongo_database": isolated["RBN_MONGO_DATABASE"],
        "topic_prefix": isolated["RBN_TOPIC_PREFIX"],
        "auth_tokens": TOKENS,
        "outbox_poll_seconds": 0.2,
    }


def registry_app(isolated: dict[str, str]) -> FastAPI:
    from registry.bootstrap import create_app
    from registry.entrypoints.main import run_seed
    from registry.seed.seeding import default_seed_file
    from registry.settings import RegistrySettings

    settings = RegistrySettings(**_settings_kwargs(isolated))
    # The twelve networks, so that requests about them reach more than the 404 answers.
    asyncio.run(run_seed(settings, default_seed_file()))
    return create_app(settings)


def conferences_app(isolated: dict[str, str]) -> FastAPI:
    from conferences.bootstrap import build
    from conferences.settings import ConferencesSettings

    return build(ConferencesSettings(**_settings_kwargs(isolated))).app


def notifications_app(isolated: dict[str, str]) -> FastAPI:
    from notifications.bootstrap import build
    from notifications.settings import NotificationsSettings

    app: FastAPI = build(NotificationsSettings(**_settings_kwargs(isolated))).app
    return app


APPS: dict[str, Callable[[dict[str, str]], FastAPI]] = {
    "registry": registry_app,
    "conferences": conferences_app,
    "notifications": notifications_app,
}


@dataclass(frozen=True, order=True)
class Finding:
    operation: str
    status: int
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.operation} -> {self.status}: {self.check}: {self.detail}"


def _detail(failure: Failure) -> str:
    lines = [line.strip() for line in failure.message.splitlines() if line.strip()]
    return lines[0][:200] if lines else ""


def conformance_findings(app: FastAPI) -> tuple[list[Finding], int]:
    """Run the checks over every operation of the app's document; the findings (each distinct
    one once) and how many requests were sent."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    findings: set[Finding] = set()
    sent = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            findings.add(Finding("(document)", 0, "invalid schema", str(result.err())[:200]))
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sent += exercise(result.ok(), mode, findings)
    return sorted(findings), sent


def exercise(operation: Any, mode: GenerationMode, findings: set[Finding]) -> int:
    """EXAMPLES generated requests to one operation; what the checks find goes to `findings`."""
    sent = 0

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same requests every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: findings, fast
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Any) -> None:
        nonlocal sent
        response = case.call(headers=AUTH)
        sent += 1
        failures: list[Failure] = []
        try:
            case.validate_response(response, checks=CHECKS, headers=AUTH)
        except FailureGroup as group:
            failures = list(group.exceptions)
        except Failure as single:
            failures = [single]
        for found in failures:
            findings.add(
                Finding(operation.label, response.status_code, found.title, _detail(found))
            )

    try:
        send()
    except hypothesis.errors.Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to get wrong in it
    return sent


def undeclared_method_findings(app: FastAPI) -> list[str]:
    """Each path asked with a method it does not declare: 405, Allow naming exactly the declared
    ones, a problem document. (Routing alone answers; the lifespan is not needed.)"""
    findings = []
    client = TestClient(app, raise_server_exceptions=False)
    for path, operations in app.openapi()["paths"].items():
        declared = {m.upper() for m in operations if m.upper() in METHODS}
        undeclared = [m for m in METHODS if m not in declared]
        if not undeclared:
            continue
        method = undeclared[0]
        url = path.replace("{", "x").replace("}", "")  # any value for a path parameter
        response = client.request(method, url, headers=AUTH)
        allowed = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
        problems = []
        if response.status_code != 405:
            problems.append(f"status {response.status_code}")
        if allowed - {"HEAD"} != declared:
            problems.append(f"Allow {sorted(allowed)} instead of {sorted(declared)}")
        if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
            problems.append(f"content type {response.headers.get('content-type')!r}")
        if problems:
            findings.append(f"{method} {path}: " + ", ".join(problems))
    return findings


@pytest.mark.parametrize("service", list(APPS))
def test_the_service_answers_as_its_openapi_document_says(
    service: str, isolated_module: dict[str, str], infra: Infra
) -> None:
    # Its own database for each service: the module's, with the service's name.
    isolated = {
        **isolated_module,
        "RBN_MONGO_DATABASE": f"{isolated_module['RBN_MONGO_DATABASE']}_{service}",
    }
    app = APPS[service](isolated)
    try:
        findings, sent = conformance_findings(app)
        wrong_methods = undeclared_method_findings(app)
    finally:
        asgi.shutdown_lifespans()  # the app's lifespan, started by schemathesis' client
    print(f"\n{service}: {sent} requests, {len(findings)} findings")
    for finding in findings:
        print(f"  {finding}")
    print(f"{service}: {len(wrong_methods)} paths answer an undeclared method wrongly")
    for line in wrong_methods:
        print(f"  {line}")
    assert not findings, f"{service}: " + "\n".join(map(str, findings))
    assert not wrong_methods, f"{service}: " + "\n".join(wrong_methods)
