"""The reaction table: every event the service needs, each with the reactions it needs, and the
consumers subscribe to exactly what the tables name."""

from __future__ import annotations

import re
from typing import Any

import pytest

from notifications.bootstrap import Wiring, build
from notifications.domain.report import REPORTED_EVENT_TYPES
from notifications.domain.rules import handled_event_types
from notifications.entrypoints.consumers import reactions
from notifications.service_layer.projection import RecipientsProjection
from notifications.settings import NotificationsSettings
from rbn_shared.events import CATALOGUE
from rbn_shared.reactions import Reactions


@pytest.fixture(scope="module")
def wiring() -> Wiring:
    # Building connects to nothing: the clients connect when the service starts.
    return build(NotificationsSettings(topic_prefix="test.reactions."))


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def projected_types() -> set[str]:
    """The events the recipients projection has a reaction for (named after the payload)."""
    return {
        spec.event_type
        for spec in CATALOGUE.values()
        if callable(getattr(RecipientsProjection, snake(spec.model.__name__), None))
    }


def rows(tables: dict[str, Reactions]) -> dict[str, list[Any]]:
    return {
        payload.event_type: handlers
        for table in tables.values()
        for payload, handlers in table.table.items()
    }


def test_the_table_covers_the_rules_the_projection_and_the_report_exactly(
    wiring: Wiring,
) -> None:
    notifier = wiring.notifier
    table = rows(reactions(notifier, wiring.digests, wiring.erasures))
    assert projected_types() == {
        "network-registered",
        "network-updated",
        "committee-member-added",
        "committee-member-updated",
        "committee-member-removed",
        "office-staff-assigned",
        "office-staff-removed",
        "district-coordination-changed",
    }
    erased = {"person-erased"}
    assert set(table) == handled_event_types() | projected_types() | REPORTED_EVENT_TYPES | erased
    assert table["person-erased"] == [wiring.erasures.person_erased]
    again = wiring.erasures.erase_again
    assert sorted(t for t, handlers in table.items() if again in handlers) == [
        "committee-member-added",
        "committee-member-removed",
        "committee-member-updated",
        "office-staff-assigned",
        "office-staff-removed",
        "participant-responded",
    ], "every event that brings a person into the projection or the recorded answers"
    for handlers in table.values():
        if again in handlers and notifier.send_mails in handlers:
            assert handlers.index(again) < handlers.index(notifier.send_mails)

    mailed = {t for t, handlers in table.items() if notifier.send_mails in handlers}
    assert mailed == handled_event_types(), "the mail step for every event the rules name"
    noted = {t for t, handlers in table.items() if notifier.note_development in handlers}
    assert noted == REPORTED_EVENT_TYPES
    for event_type, handlers in table.items():
        own = [h for h in handlers if getattr(h, "__self__", None) is notifier.projection]
        if event_type in projected_types():
            model = CATALOGUE[event_type].model
            assert [h.__name__ for h in own] == [snake(model.__name__)], event_type
            assert handlers[0] == own[0], "the projection first"
        else:
            assert own == [], event_type
    resend = notifier.resend_unsent_welcome
    assert [t for t, handlers in table.items() if resend in handlers] == [
        "committee-member-updated"
    ]
    assert table["committee-member-updated"][-1] == resend
    record = wiring.digests.record_response
    assert [t for t, handlers in table.items() if record in handlers] == [
        "participant-responded"
    ], "every answer is kept for the office's overview"


def test_the_consumers_subscribe_to_what_the_tables_name(wiring: Wiring) -> None:
    tables = reactions(wiring.notifier, wiring.digests, wiring.erasures)
    topics = wiring.settings.topics
    assert {name: t.topics(topics) for name, t in tables.items()} == {
        "registry": [topics.registry],
        "conferences": [topics.conferences],
    }
    consumers = {c.name: c.handled_types for c in wiring.runtime.consumers}
    assert consumers == {
        f"notifications.{name}": table.event_types for name, table in tables.items()
    }
    subscribers: list[Any] = list(wiring.runtime.broker._subscribers)  # FastStream's own
    subscribed = {s.group_id: sorted(s.topic_names) for s in subscribers}
    assert subscribed == {
        f"test.reactions.notifications.{name}": table.topics(topics)
        for name, table in tables.items()
    }
