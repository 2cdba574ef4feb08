"""How the service's records look as MongoDB documents, and back.

The domain knows nothing of documents; the repositories use these pairs. A reader tolerates the
forms written by earlier versions (fields that came later are read with their defaults).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from notifications.domain.delivery import Delivery, DeliveryStatus, RenderedMessage
from notifications.domain.digest import RecordedResponse
from notifications.domain.preferences import Preferences, Topic
from notifications.domain.recipients import (
    DISTRICT_ID,
    Contact,
    DistrictCoordination,
    NetworkDirectory,
    UnsentWelcome,
)
from notifications.domain.report import Development, DevelopmentKind, ReportSchedule
from notifications.domain.rules import Category
from rbn_shared.mongo import Document

# ---------------------------------------------------------------------------- records by name

# Deliveries and developments are stored field by field under their own names (the id as `_id`,
# an enum as its value), so a field added to one is stored and read without more code.


def _fields_as_document(record: Any, id_field: str) -> Document:
    fields = dataclasses.asdict(record)
    values = {k: v.value if isinstance(v, Enum) else v for k, v in fields.items()}
    return {"_id": values.pop(id_field), **values}


def _fields_of(cls: type[Any], doc: Document, id_field: str) -> dict[str, Any]:
    """The document's values of the record's fields (one missing takes its default); the
    document's own `version`, `outbox` and `event_count` are not among them."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {**{k: v for k, v in doc.items() if k in names}, id_field: str(doc["_id"])}


# ---------------------------------------------------------------------------- deliveries


def delivery_to_document(delivery: Delivery) -> Document:
    """The delivery's state; the repository adds `event_count`, the version and the outbox."""
    return _fields_as_document(delivery, "delivery_id")


def delivery_from_document(doc: Document) -> Delivery:
    fields = _fields_of(Delivery, doc, "delivery_id")
    fields.update(category=Category(doc["category"]), status=DeliveryStatus(doc["status"]))
    return Delivery(**fields)


def delivery_event_count(doc: Document) -> int:
    """How many events the stored delivery caused: its `event_count`, or for a record stored
    before there was one, one if it is settled (sent or failed: it caused its one event)."""
    settled = doc["status"] in (DeliveryStatus.SENT.value, DeliveryStatus.FAILED.value)
    return int(doc.get("event_count", 1 if settled else 0))


def message_to_document(message: RenderedMessage) -> Document:
    return {"_id": message.delivery_id, "message_id": message.message_id, "text": message.text}


def message_from_document(doc: Document) -> RenderedMessage:
    return RenderedMessage(str(doc["_id"]), str(doc["message_id"]), str(doc["text"]))


# ---------------------------------------------------------------------------- recipients


def _contact_to_document(contact: Contact) -> Document:
    doc: Document = {"email": contact.email, "name": contact.name, "version": contact.version}
    welcome = contact.unsent_welcome
    if welcome is not None:
        doc["unsent_welcome"] = {
            "cause_event_id": welcome.cause_event_id,
            "template": welcome.template,
            "address": welcome.address,
        }
    return doc


def _contact_from_document(doc: Document) -> Contact:
    w = doc.get("unsent_welcome")
    welcome = (
        UnsentWelcome(str(w["cause_event_id"]), str(w["template"]), str(w["address"]))
        if w
        else None
    )
    return Contact(doc["email"], doc["name"], int(doc.get("version", 0)), welcome)


def _people_to_document(people: Mapping[str, Contact]) -> list[Document]:
    # A list, not a map by id: an id is any text an event carries, and a document's key names
    # may hold no NUL byte (nor start with $ or contain a dot).
    return [{"id": person_id, **_contact_to_document(c)} for person_id, c in people.items()]


def _people_from_document(stored: object) -> dict[str, Contact]:
    if isinstance(stored, dict):  # as documents were written before: a map by id
        return {str(k): _contact_from_document(v) for k, v in stored.items()}
    return {str(p["id"]): _contact_from_document(p) for p in stored or []}  # type: ignore[attr-defined]


def network_to_document(network: NetworkDirectory) -> Document:
    office = network.office
    return {
        "_id": network.network_id,
        "name": network.name,
        "office": _contact_to_document(office) if office else None,
        "committee": _people_to_document(network.committee),
        "staff": _people_to_document(network.staff),
        "network_version": network.version,
    }


def network_from_document(doc: Document) -> NetworkDirectory:
    return NetworkDirectory(
        network_id=str(doc["_id"]),
        name=str(doc["name"]),
        office=_contact_from_document(doc["office"]) if doc.get("office") else None,
        committee=_people_from_document(doc.get("committee")),
        staff=_people_from_document(doc.get("staff")),
        version=int(doc.get("network_version", 0)),
    )


def district_to_document(district: DistrictCoordination) -> Document:
    coordinator, service_unit = district.coordinator, district.service_unit
    return {
        "_id": DISTRICT_ID,
        "coordinator": {"email": coordinator.email, "name": coordinator.name},
        "service_unit": {"email": service_unit.email, "name": service_unit.name},
    }


def district_from_document(doc: Document) -> DistrictCoordination:
    return DistrictCoordination(
        Contact(doc["coordinator"]["email"], doc["coordinator"]["name"]),
        Contact(doc["service_unit"]["email"], doc["service_unit"]["name"]),
    )


# ---------------------------------------------------------------------------- preferences


def preferences_to_document(preferences: Preferences, now: datetime) -> Document:
    return {
        "_id": preferences.email,
        "opted_out": sorted(t.value for t in preferences.opted_out),
        "updated_at": now,
    }


def preferences_from_document(doc: Document) -> Preferences:
    topics = frozenset(Topic(t) for t in doc.get("opted_out", []))
    return Preferences(str(doc["_id"]), topics)


# ---------------------------------------------------------------------------- district report


def development_to_document(development: Development) -> Document:
    return _fields_as_document(development, "event_id")


def development_from_document(doc: Document) -> Development:
    fields = _fields_of(Development, doc, "event_id")
    fields.update(kind=DevelopmentKind(doc["kind"]), details=dict(doc.get("details") or {}))
    return Development(**fields)


def schedule_to_document(schedule_id: str, schedule: ReportSchedule) -> Document:
    return {
        "_id": schedule_id,
        "period_start": schedule.period_start,
        "next_due_at": schedule.next_due_at,
    }


def schedule_from_document(doc: Document) -> ReportSchedule:
    return ReportSchedule(doc["period_start"], doc["next_due_at"])


def response_to_document(response: RecordedResponse) -> Document:
    return _fields_as_document(response, "event_id")


def response_from_document(doc: Document) -> RecordedResponse:
    fields = _fields_of(RecordedResponse, doc, "event_id")
    fields.update(counts=dict(doc.get("counts") or {}))
    return RecordedResponse(**fields)
