"""The event contract: catalogue, envelope, payload parsing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from rbn_shared.events import CATALOGUE, Envelope, Topics, UnknownEvent, new_event, parse_payload
from rbn_shared.events.base import MunicipalityKind, NetworkRef
from rbn_shared.events.registry import Municipality, NetworkRegistered, OfficeContact

# The first catalogue of ../shared/domain.md, plus the proposal of a field of action and the
# update of a published conference.
DOMAIN_CATALOGUE = {
    "registry": {
        "network-registered", "network-updated", "cooperation-agreement-signed",
        "cooperation-agreement-terminated", "committee-member-added", "committee-member-updated",
        "committee-member-removed", "office-staff-assigned", "office-staff-removed",
        "field-of-action-proposed", "field-of-action-adopted", "field-of-action-updated",
        "field-of-action-closed", "district-coordination-changed", "district-bulletin-published",
        "person-erased",
    },
    "conferences": {
        "conference-scheduled", "conference-rescheduled", "conference-cancelled",
        "participant-invited", "participant-responded", "conference-reminder-due",
        "conference-concluded", "conference-updated", "participant-withdrawn",
    },
    "notifications": {"notification-sent", "notification-failed", "calendar-reply-received"},
}  # fmt: skip


def registered(network_id: str = "bochum") -> NetworkRegistered:
    return NetworkRegistered(
        network=NetworkRef(id=network_id, name="RBN Bochum", office_email="rbn@bochum.de"),
        municipality=Municipality(name="Bochum", kind=MunicipalityKind.CITY),
        office=OfficeContact(name="Bildungsbüro Bochum", email="rbn@bochum.de"),
    )


def test_catalogue_holds_every_event_of_the_domain_with_its_producer() -> None:
    by_producer: dict[str, set[str]] = {}
    for spec in CATALOGUE.values():
        by_producer.setdefault(spec.producer, set()).add(spec.event_type)
    assert by_producer == DOMAIN_CATALOGUE


def test_new_event_stamps_the_envelope_from_the_catalogue() -> None:
    envelope = new_event(
        registered(), key="bochum", aggregate_id="bochum", aggregate_version=3,
        correlation_id="req-1", causation_id="cmd-9",
    )  # fmt: skip
    assert envelope.type == "network-registered"
    assert envelope.version == 1
    assert envelope.producer == "registry"
    assert envelope.occurred_at.tzinfo is UTC
    assert envelope.payload["municipality"] == {"name": "Bochum", "kind": "city"}


def test_envelope_round_trips_and_headers_repeat_type_version_correlation() -> None:
    envelope = new_event(
        registered(),
        key="bochum",
        aggregate_id="bochum",
        aggregate_version=1,
        correlation_id="req-7",
    )
    again = Envelope.from_wire(envelope.to_wire())
    assert again == envelope
    assert parse_payload(again) == registered()
    headers = envelope.kafka_headers()
    assert headers["event_type"] == "network-registered"
    assert headers["event_version"] == "1"
    assert headers["correlation_id"] == "req-7"
    assert headers["event_id"] == str(envelope.event_id)


def test_occurred_at_is_normalised_to_utc_and_naive_times_are_refused() -> None:
    fields = json.loads(
        new_event(
            registered(), key="b", aggregate_id="b", aggregate_version=1, correlation_id="c"
        ).to_wire()
    )
    berlin = timezone(timedelta(hours=1))
    fields["occurred_at"] = datetime(2027, 3, 10, 14, 0, tzinfo=berlin).isoformat()
    assert Envelope.model_validate(fields).occurred_at == datetime(2027, 3, 10, 13, 0, tzinfo=UTC)
    fields["occurred_at"] = "2027-03-10T14:00:00"
    with pytest.raises(ValidationError, match="occurred_at"):
        Envelope.model_validate(fields)


def test_readers_ignore_unknown_fields() -> None:
    fields = json.loads(
        new_event(
            registered(), key="b", aggregate_id="b", aggregate_version=1, correlation_id="c"
        ).to_wire()
    )
    fields["added_later"] = {"anything": 1}
    fields["payload"]["office"]["fax"] = "0234 1234"
    assert parse_payload(Envelope.model_validate(fields)) == registered()


@pytest.mark.parametrize("event_type", ["Network_Registered", "network--registered", ""])
def test_event_type_must_be_kebab_case(event_type: str) -> None:
    fields = json.loads(
        new_event(
            registered(), key="b", aggregate_id="b", aggregate_version=1, correlation_id="c"
        ).to_wire()
    )
    fields["type"] = event_type
    with pytest.raises(ValidationError, match="type"):
        Envelope.model_validate(fields)


def _envelope(event_type: str, version: int) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(), type=event_type, version=version, occurred_at=datetime.now(UTC),
        producer="registry", correlation_id="c", key="k", aggregate_id="a", aggregate_version=1,
        payload={},
    )  # fmt: skip


def test_unknown_type_or_version_is_refused_with_a_reason() -> None:
    with pytest.raises(UnknownEvent, match="unknown event type 'network-exploded'"):
        parse_payload(_envelope("network-exploded", 1))
    with pytest.raises(UnknownEvent, match="version 2 is not understood"):
        parse_payload(_envelope("network-registered", 2))


def test_invalid_payload_is_refused() -> None:
    with pytest.raises(ValidationError, match="municipality"):
        parse_payload(_envelope("network-registered", 1))


def test_topics_carry_the_prefix_and_each_has_a_dead_letter_topic() -> None:
    topics = Topics("test.x.")
    assert topics.registry == "test.x.registry.events"
    assert Topics.dead_letters_of(topics.conferences) == "test.x.conferences.events.dlq"
    assert len(topics.all()) == 6
    with pytest.raises(ValueError, match="unknown producer"):
        topics.events_of("billing")
