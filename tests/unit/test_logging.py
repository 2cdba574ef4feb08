"""Logs carry no address or secret at info level."""

from __future__ import annotations

import json
import logging

import pytest

from rbn_shared.logging import bound, configure_logging, get_logger, mask_email, redact_sensitive


def test_mask_email() -> None:
    assert mask_email("an anna.schmidt@schule.nrw.de gesendet") == "an a***@schule.nrw.de gesendet"


def test_secrets_and_addresses_are_redacted_above_debug() -> None:
    event = {"event": "sent to x.y@example.org", "token": "abc", "nested": {"password": "p"},
             "recipients": ["a.b@example.org"]}  # fmt: skip
    out = redact_sensitive(None, "info", dict(event))
    assert out == {"event": "sent to x***@example.org", "token": "***",
                   "nested": {"password": "***"}, "recipients": ["a***@example.org"]}  # fmt: skip
    assert redact_sensitive(None, "debug", dict(event)) == event


def test_json_lines_carry_service_and_bound_correlation_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("registry", "INFO", "json")
    with bound(correlation_id="req-42"):
        get_logger("test").info("member added", email="m.muster@example.org")
    logging.getLogger("faststream").warning("from the standard library")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["service"] == "registry"
    assert lines[0]["correlation_id"] == "req-42"
    assert lines[0]["email"] == "m***@example.org"
    assert lines[1]["event"] == "from the standard library"
    assert "correlation_id" not in lines[1]


def test_personal_tokens_in_paths_are_cut_before_logging() -> None:
    from rbn_shared.http import loggable_path

    token = "eyJjIjoiM2YyYTljMDFiN2Q0IiwiaSI6Imludi01In0.ZxY1aQ.s9dK2mJ4XvA8bQwLr3TnUoPc"
    assert loggable_path(f"/respond/{token}") == "/respond/eyJjIj…"
    assert (
        loggable_path("/networks/bochum/committee/members") == "/networks/bochum/committee/members"
    )
