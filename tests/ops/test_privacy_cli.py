"""`rbn privacy ...` against a fake HTTP transport: the export combines the three services'
answers into one document or fails naming the service that gave none, the erasure prints its id
and subject and never the address, the audit merges the three trails."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from rbn_ops import privacy
from rbn_ops.cli import app
from rbn_shared.privacy import subject_of

ADDRESS = "Anna.Schmidt@Schule-Bochum.de"
SUBJECT = subject_of(ADDRESS)
OTHER_SUBJECT = "0" * 64
TOKEN = "district-token"
URLS = {
    "registry": "http://registry.test:8001",
    "conferences": "http://conferences.test:8002",
    "notifications": "http://notifications.test:8003",
}
SERVICE_OPTIONS = [
    "--registry",
    URLS["registry"],
    "--conferences",
    URLS["conferences"],
    "--notifications",
    URLS["notifications"],
]
SERVICE_OF_HOST = {httpx.URL(url).host: name for name, url in URLS.items()}

Handler = Callable[[str, httpx.Request], httpx.Response]


class FakeServices:
    """The three services behind one transport; `handler(service, request)` answers."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[str, httpx.Request]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        service = SERVICE_OF_HOST[request.url.host]
        self.requests.append((service, request))
        return self.handler(service, request)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for _, r in self.requests]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Callable[[Handler], FakeServices]:
    def install(handler: Handler) -> FakeServices:
        services = FakeServices(handler)
        monkeypatch.setattr(privacy, "TRANSPORT", httpx.MockTransport(services))
        return services

    return install


def run(*args: str, expect: int = 0, input: str | None = None) -> str:
    result = CliRunner().invoke(
        app, list(args), env={"RBN_OPS_TOKEN": TOKEN, "COLUMNS": "200"}, input=input
    )
    assert result.exit_code == expect, result.output
    return result.output


def access_answer(service: str, subject: str = SUBJECT) -> dict[str, Any]:
    items = {
        "registry": [{"kind": "committee-seat", "id": "mem-1", "network_id": "bochum", "data": {}}],
        "conferences": [{"kind": "invitation", "id": "inv-1"}, {"kind": "invitation", "id": "i2"}],
        "notifications": [],
    }[service]
    return {
        "service": service,
        "subject": subject,
        "generated_at": "2026-12-02T14:00:00Z",
        "items": items,
    }


def answering(service: str, request: httpx.Request) -> httpx.Response:
    assert request.method == "POST"
    assert request.url.path == "/privacy/access"
    return httpx.Response(200, json=access_answer(service))


# --------------------------------------------------------------------------- export


def test_export_combines_the_three_services_into_one_document(
    fake: Callable[[Handler], FakeServices], tmp_path: Path
) -> None:
    services = fake(answering)
    out = tmp_path / "auskunft.json"

    output = run("privacy", "export", "--email", ADDRESS, "--out", str(out), *SERVICE_OPTIONS)

    document = json.loads(out.read_text())
    assert set(document) == {"subject", "generated_at", "services"}
    assert document["subject"] == SUBJECT
    assert list(document["services"]) == ["registry", "conferences", "notifications"]
    for name, answer in document["services"].items():
        assert answer == access_answer(name), "each service's answer as it gave it"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600, "personal data: readable by its owner only"
    assert [s for s, _ in services.requests] == ["registry", "conferences", "notifications"]
    assert services.bodies() == [{"email": ADDRESS}] * 3, "the address in the body"
    for _, request in services.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert "schmidt" not in str(request.url).lower(), "never in a URL (access logs)"
    assert SUBJECT in output
    assert "registry 1, conferences 2, notifications 0" in output
    assert "schmidt" not in output.lower(), "the address is not echoed"


def test_export_without_a_file_writes_the_document_to_standard_output(
    fake: Callable[[Handler], FakeServices],
) -> None:
    fake(answering)
    result = CliRunner().invoke(
        app,
        ["privacy", "export", "--email", ADDRESS, *SERVICE_OPTIONS],
        env={"RBN_OPS_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["subject"] == SUBJECT
    assert set(document["services"]) == {"registry", "conferences", "notifications"}


def test_a_service_that_does_not_answer_fails_the_export_by_name(
    fake: Callable[[Handler], FakeServices], tmp_path: Path
) -> None:
    def conferences_down(service: str, request: httpx.Request) -> httpx.Response:
        if service == "conferences":
            raise httpx.ConnectError("connection refused", request=request)
        return answering(service, request)

    fake(conferences_down)
    out = tmp_path / "auskunft.json"
    output = run(
        "privacy", "export", "--email", ADDRESS, "--out", str(out), *SERVICE_OPTIONS, expect=1
    )
    assert "no export: conferences gave no answer" in output
    assert f"did not answer at {URLS['conferences']}/privacy/access" in output
    assert not out.exists(), "no document with a silent gap"


def test_every_failing_service_is_named_refusals_and_wrong_subjects_alike(
    fake: Callable[[Handler], FakeServices],
) -> None:
    def failing(service: str, request: httpx.Request) -> httpx.Response:
        if service == "registry":
            return httpx.Response(
                403,
                json={"title": "Forbidden", "detail": "only the district may ask"},
                headers={"Content-Type": "application/problem+json"},
            )
        if service == "notifications":
            return httpx.Response(200, json=access_answer(service, OTHER_SUBJECT))
        return answering(service, request)

    fake(failing)
    result = CliRunner().invoke(
        app,
        ["privacy", "export", "--email", ADDRESS, *SERVICE_OPTIONS],
        env={"RBN_OPS_TOKEN": TOKEN, "COLUMNS": "200"},
    )
    assert result.exit_code == 1, result.output
    assert result.stdout == "", "no document at all"
    assert "registry, notifications gave no answer" in result.output
    assert "registry: refused (403): only the district may ask" in result.output
    assert "notifications: answered for another subject" in result.output


@pytest.mark.parametrize(
    ("response", "said"),
    [
        (httpx.Response(200, text="<html>proxy</html>"), "answered 200 without JSON"),
        (httpx.Response(200, json=["not", "an", "object"]), "other than a JSON object"),
        (httpx.Response(200, json={"subject": SUBJECT}), "the answer lacks items"),
        (httpx.Response(502, text="Bad Gateway"), "refused (502): Bad Gateway"),
    ],
)
def test_an_answer_that_is_no_export_is_an_error_naming_the_service(
    fake: Callable[[Handler], FakeServices], response: httpx.Response, said: str
) -> None:
    def broken_notifications(service: str, request: httpx.Request) -> httpx.Response:
        return response if service == "notifications" else answering(service, request)

    fake(broken_notifications)
    output = run("privacy", "export", "--email", ADDRESS, *SERVICE_OPTIONS, expect=1)
    assert "notifications gave no answer" in output
    assert said in output


# --------------------------------------------------------------------------- erase


def erasure_answer(**overrides: Any) -> dict[str, Any]:
    return {
        "erasure_id": "era-7",
        "subject": SUBJECT,
        "erased_at": "2026-12-02T14:10:00Z",
        "network_ids": ["bochum", "hamm"],
        "member_ids": ["mem-1", "mem-2"],
        "staff_ids": ["stf-3"],
        **overrides,
    }


def test_erase_calls_the_registry_and_prints_id_and_subject_never_the_address(
    fake: Callable[[Handler], FakeServices],
) -> None:
    def registry(service: str, request: httpx.Request) -> httpx.Response:
        assert (service, request.method, request.url.path) == (
            "registry",
            "POST",
            "/privacy/erasures",
        )
        return httpx.Response(201, json=erasure_answer())

    services = fake(registry)
    output = run("privacy", "erase", "--email", ADDRESS, "--yes", *SERVICE_OPTIONS[:2])
    assert services.bodies() == [{"email": ADDRESS}]
    assert services.requests[0][1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "erased: erasure era-7" in output
    assert f"subject {SUBJECT}" in output
    assert "networks: bochum, hamm; committee seats anonymised: 2; office posts anonymised: 1" in (
        output
    )
    assert "schmidt" not in output.lower()


def test_a_repeated_erasure_says_there_was_nothing_new(
    fake: Callable[[Handler], FakeServices],
) -> None:
    fake(lambda _s, _r: httpx.Response(200, json=erasure_answer(network_ids=[], member_ids=[])))
    output = run("privacy", "erase", "--email", ADDRESS, "--yes", *SERVICE_OPTIONS[:2])
    assert "nothing new to erase: erasure era-7" in output
    assert "networks: none" in output


def test_erase_asks_first_and_does_nothing_when_declined(
    fake: Callable[[Handler], FakeServices],
) -> None:
    services = fake(lambda _s, _r: httpx.Response(201, json=erasure_answer()))
    output = run(
        "privacy", "erase", "--email", ADDRESS, *SERVICE_OPTIONS[:2], input="n\n", expect=1
    )
    assert "This cannot be undone" in output
    assert services.requests == []


def test_a_refused_erasure_does_not_repeat_the_address_the_service_quoted(
    fake: Callable[[Handler], FakeServices],
) -> None:
    fake(
        lambda _s, _r: httpx.Response(
            422, json={"detail": f"email: {ADDRESS} is not an address; so is x.y@example.org"}
        )
    )
    output = run("privacy", "erase", "--email", ADDRESS, "--yes", *SERVICE_OPTIONS[:2], expect=1)
    assert "not erased: registry: refused (422)" in output
    assert "schmidt" not in output.lower()
    assert "x.y@" not in output, "any other address is masked as in the logs"


def test_erase_names_an_unreachable_registry_and_a_subject_that_is_not_the_address(
    fake: Callable[[Handler], FakeServices],
) -> None:
    def down(_service: str, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    fake(down)
    output = run("privacy", "erase", "--email", ADDRESS, "--yes", *SERVICE_OPTIONS[:2], expect=1)
    assert f"registry: did not answer at {URLS['registry']}/privacy/erasures" in output

    fake(lambda _s, _r: httpx.Response(201, json=erasure_answer(subject=OTHER_SUBJECT)))
    output = run("privacy", "erase", "--email", ADDRESS, "--yes", *SERVICE_OPTIONS[:2], expect=1)
    assert "answered for another subject" in output


def test_without_a_token_nothing_is_asked() -> None:
    result = CliRunner().invoke(
        app,
        ["privacy", "export", "--email", ADDRESS, *SERVICE_OPTIONS],
        env={"RBN_OPS_TOKEN": "", "RBN_OPS_CLIENT_ID": "", "RBN_OPS_CLIENT_SECRET": ""},
    )
    assert result.exit_code == 2, result.output
    assert "RBN_OPS_TOKEN is not set" in result.output


# --------------------------------------------------------------------------- audit


def audit_handler(service: str, request: httpx.Request) -> httpx.Response:
    assert (request.method, request.url.path) == ("GET", "/privacy/audit")
    trails = {
        "registry": [
            {
                "action": "erasure",
                "subject": SUBJECT,
                "actor": "sub-ops",
                "at": "2026-12-02T10:00:00Z",
            }
        ],
        "conferences": [
            {
                "action": "access-export",
                "subject": SUBJECT,
                "actor": "sub-ops",
                "at": "2026-12-01T09:00:00Z",
            },
            {"action": "erasure", "subject": SUBJECT, "actor": None, "at": "2026-12-02T10:00:05Z"},
        ],
        "notifications": [],
    }
    return httpx.Response(200, json={"items": trails[service]})


def test_audit_merges_the_three_trails_oldest_first(
    fake: Callable[[Handler], FakeServices],
) -> None:
    services = fake(audit_handler)
    result = CliRunner().invoke(
        app,
        ["privacy", "audit", "--subject", SUBJECT, "--json", *SERVICE_OPTIONS],
        env={"RBN_OPS_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [(e["service"], e["action"]) for e in entries] == [
        ("conferences", "access-export"),
        ("registry", "erasure"),
        ("conferences", "erasure"),
    ]
    assert [r.url.params.get("subject") for _, r in services.requests] == [SUBJECT] * 3

    table = run("privacy", "audit", *SERVICE_OPTIONS)
    assert "Privacy audit (3)" in table
    assert "(the system)" in table, "an erasure the service did on the event"
    assert [r.url.params.get("subject") for _, r in services.requests[3:]] == [None] * 3


def test_audit_by_address_sends_only_the_subject(
    fake: Callable[[Handler], FakeServices],
) -> None:
    services = fake(audit_handler)
    run("privacy", "audit", "--email", ADDRESS, *SERVICE_OPTIONS)
    for _, request in services.requests:
        assert request.url.params.get("subject") == SUBJECT
        assert "schmidt" not in str(request.url).lower()


def test_audit_refuses_a_malformed_subject_and_names_a_silent_service(
    fake: Callable[[Handler], FakeServices],
) -> None:
    services = fake(audit_handler)
    assert "64 hexadecimal digits" in run("privacy", "audit", "--subject", "abc", expect=2)
    assert services.requests == []

    def notifications_down(service: str, request: httpx.Request) -> httpx.Response:
        if service == "notifications":
            return httpx.Response(503, json={"title": "Service Unavailable"})
        return audit_handler(service, request)

    fake(notifications_down)
    output = run("privacy", "audit", *SERVICE_OPTIONS, expect=1)
    assert "no audit: notifications gave no answer" in output
    assert "notifications: refused (503): Service Unavailable" in output
