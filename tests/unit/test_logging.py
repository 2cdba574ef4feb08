"""Logs carry no address or secret at info level."""

from __future__ import annotations

import json
import logging

import pytest

from rbn_shared.logging import (
    RepeatsHeldBack,
    bound,
    configure_logging,
    get_logger,
    mask_email,
    redact_sensitive,
)


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


def test_a_librarys_repeating_complaint_is_held_back_and_counted() -> None:
    now = [0.0]
    held = RepeatsHeldBack(window=10.0, clock=lambda: now[0])

    def record(name: str, msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)

    down = "Unable to update metadata from %s"
    passed = [held.filter(record("aiokafka.client", down, [1])) for _ in range(2000)]
    assert passed.count(True) == 1  # the first at once, the rest held back
    assert held.filter(record("aiokafka.client", "Unable connect to node %s", 1))  # another one
    assert all(held.filter(record("rbn.dispatch", "mail sent")) for _ in range(5))  # our own

    now[0] = 10.5
    again = record("aiokafka.client", down, [1])
    assert held.filter(again)
    assert (
        again.getMessage()
        == "Unable to update metadata from [1] (and 1999 more like it, held back)"
    )
    assert not held.filter(record("aiokafka.client", down, [1]))  # a new window began


def test_the_held_back_complaints_reach_the_log_once(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("conferences", "INFO", "json")
    for _ in range(500):
        logging.getLogger("aiokafka.client").error("Unable to update metadata from %s", [1])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["Unable to update metadata from [1]"]
