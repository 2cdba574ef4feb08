"""The service wires up without servers, and its OpenAPI document describes the API."""

from __future__ import annotations

import pytest

from conferences.bootstrap import build
from conferences.settings import ConferencesSettings
from rbn_shared.http import BodySizeLimit


def test_openapi_lists_the_resources_and_reads_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONFERENCES_REMINDER_OFFSETS_SECONDS", "[3600]")
    monkeypatch.setenv("CONFERENCES_AUTH_TOKENS", '{"t": "office:hamm"}')
    settings = ConferencesSettings()
    assert settings.reminder_offsets_seconds == [3600]
    assert settings.http_port == 8002
    assert settings.mongo_database == "conferences"

    wiring = build(settings)
    paths = wiring.app.openapi()["paths"]
    assert {
        "/conferences",
        "/conferences/{conference_id}",
        "/conferences/{conference_id}/reschedule",
        "/conferences/{conference_id}/cancel",
        "/conferences/{conference_id}/conclude",
        "/conferences/{conference_id}/invitations",
        "/conferences/{conference_id}/invitations/{invitation_id}/response",
        "/respond/{token}",
        "/responses/{token}",
        "/networks/{network_id}",
        "/ready",
        "/metrics",
    } <= set(paths)
    assert wiring.service.reminder_offsets == [3600]


def test_the_invitation_correction_is_a_documented_merge_patch_and_feedback_is_consumed() -> None:
    wiring = build(ConferencesSettings())
    operation = wiring.app.openapi()["paths"][
        "/conferences/{conference_id}/invitations/{invitation_id}"
    ]["patch"]
    assert set(operation["requestBody"]["content"]) == {"application/merge-patch+json"}
    assert {"400", "404", "409", "413", "422", "428"} <= set(operation["responses"])
    assert "registry" in operation["responses"]["409"]["description"]
    limits = [m.kwargs for m in wiring.app.user_middleware if m.cls is BodySizeLimit]  # type: ignore[comparison-overlap]
    assert limits == [{"max_bytes": ConferencesSettings().max_body_bytes}]
    consumers = {c.name: c for c in wiring.runtime.consumers}
    assert "conferences.delivery-feedback" in consumers
    assert "notification-failed" in consumers["conferences.delivery-feedback"]._handlers


def test_every_route_documents_its_error_answers() -> None:
    paths = build(ConferencesSettings()).app.openapi()["paths"]
    own = {p: ops for p, ops in paths.items() if p.startswith(("/conferences", "/respon", "/net"))}
    for path, operations in own.items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
            assert errors, f"{method} {path} documents no error answer"
            for status, answer in errors.items():
                html = path.startswith("/respond/") and status in ("403", "409")
                media = "text/html" if html else "application/problem+json"
                assert set(answer["content"]) == {media}, (method, path, status)
    cancel = paths["/conferences/{conference_id}/cancel"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422", "428"} == set(cancel) - {"200"}
    assert {"403", "404"} <= set(paths["/responses/{token}"]["get"]["responses"])
