"""The service wires up without servers, and its OpenAPI document describes the API."""

from __future__ import annotations

import pytest

from conferences.bootstrap import build
from conferences.settings import ConferencesSettings


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
