"""How a conference and a network view look as MongoDB documents.

Maps keyed by ids (committee members, versions) are stored as lists of pairs: ids come from
another service and may hold characters ('.', '$') that are not allowed in field names.
"""

from __future__ import annotations

from typing import Any

from conferences.domain.model import (
    Conference,
    ConferenceStatus,
    DeliveryProblem,
    Invitation,
    Reminder,
)
from conferences.domain.projection import NetworkView
from rbn_shared.events.base import NetworkRef, Person
from rbn_shared.events.conferences import (
    AgendaItem,
    ConferenceKind,
    Recommendation,
    Response,
    StakeholderGroup,
    Venue,
)
from rbn_shared.mongo import Document

# ---------------------------------------------------------------------------- network view


def view_to_document(view: NetworkView) -> Document:
    return {
        "_id": view.network_id,
        "name": view.name,
        "office_name": view.office_name,
        "office_email": view.office_email,
        "agreement_id": view.agreement_id,
        "agreement_active": view.agreement_active,
        "committee": _pairs(view.committee),
        "staff": _pairs(view.staff),
        "fields": _pairs(view.fields),
        "versions": _pairs(view.versions),
        "last_event_at": view.last_event_at,
    }


def view_from_document(doc: Document) -> NetworkView:
    return NetworkView(
        network_id=doc["_id"],
        name=doc.get("name", ""),
        office_name=doc.get("office_name"),
        office_email=doc.get("office_email"),
        agreement_id=doc.get("agreement_id"),
        agreement_active=bool(doc.get("agreement_active")),
        committee=_unpairs(doc.get("committee")),
        staff=_unpairs(doc.get("staff")),
        fields=_unpairs(doc.get("fields")),
        versions=_unpairs(doc.get("versions")),
        last_event_at=doc.get("last_event_at"),
    )


def _pairs(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"k": k, "v": v} for k, v in sorted(mapping.items())]


def _unpairs(pairs: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {p["k"]: p["v"] for p in pairs or []}


# ---------------------------------------------------------------------------- conference


def conference_to_document(c: Conference) -> Document:
    return {
        "_id": c.conference_id,
        "network_id": c.network.id,
        "network": c.network.model_dump(mode="json"),
        "organizer": c.organizer.model_dump(mode="json"),
        "title": c.title,
        "kind": c.kind.value,
        "topic": c.topic,
        "status": c.status.value,
        "starts_at": c.starts_at,
        "ends_at": c.ends_at,
        "venue": c.venue.model_dump(mode="json") if c.venue else None,
        "online_url": c.online_url,
        "agenda": [a.model_dump(mode="json") for a in c.agenda],
        "capacity": c.capacity,
        "sequence": c.sequence,
        "time_sequence": c.time_sequence,
        "invitations": [
            {
                "invitation_id": i.invitation_id,
                "source": i.source,
                "person": i.person.model_dump(mode="json"),
                "group": i.group.value,
                "response": i.response.value,
                "waitlisted": i.waitlisted,
                "waitlist_seq": i.waitlist_seq,
                "withdrawn": i.withdrawn,
                "responded_at": i.responded_at,
                "delivery_problem": _problem_to_document(i.delivery_problem),
            }
            for i in c.invitations
        ],
        "reminders": [
            {
                "offset_seconds": r.offset_seconds,
                "due_at": r.due_at,
                "state": r.state,
                "sent_at": r.sent_at,
            }
            for r in c.reminders
        ],
        # Top level, so the reminder job finds due conferences with one indexed query.
        "next_reminder_due_at": c.next_reminder_due_at,
        "next_invitation_no": c.next_invitation_no,
        "next_waitlist_seq": c.next_waitlist_seq,
        "cancel_reason": c.cancel_reason,
        "summary": c.summary,
        "recommendations": [r.model_dump(mode="json") for r in c.recommendations],
    }


def conference_from_document(doc: Document) -> Conference:
    return Conference(
        conference_id=doc["_id"],
        network=NetworkRef.model_validate(doc["network"]),
        organizer=Person.model_validate(doc["organizer"]),
        title=doc["title"],
        kind=ConferenceKind(doc["kind"]),
        topic=doc.get("topic"),
        status=ConferenceStatus(doc["status"]),
        starts_at=doc["starts_at"],
        ends_at=doc["ends_at"],
        venue=Venue.model_validate(doc["venue"]) if doc.get("venue") else None,
        online_url=doc.get("online_url"),
        agenda=[AgendaItem.model_validate(a) for a in doc.get("agenda", [])],
        capacity=doc.get("capacity"),
        sequence=doc.get("sequence", 0),
        time_sequence=doc.get("time_sequence", 0),  # stored before it was kept: as invited
        invitations=[
            Invitation(
                invitation_id=i["invitation_id"],
                source=i["source"],
                person=Person.model_validate(i["person"]),
                group=StakeholderGroup(i["group"]),
                response=Response(i["response"]),
                waitlisted=i.get("waitlisted", False),
                waitlist_seq=i.get("waitlist_seq"),
                withdrawn=i.get("withdrawn", False),
                responded_at=i.get("responded_at"),
                delivery_problem=_problem_from_document(i.get("delivery_problem")),
            )
            for i in doc.get("invitations", [])
        ],
        reminders=[
            Reminder(
                offset_seconds=r["offset_seconds"],
                due_at=r["due_at"],
                state=r["state"],
                sent_at=r.get("sent_at"),
            )
            for r in doc.get("reminders", [])
        ],
        next_invitation_no=doc.get("next_invitation_no", 1),
        next_waitlist_seq=doc.get("next_waitlist_seq", 1),
        cancel_reason=doc.get("cancel_reason"),
        summary=doc.get("summary"),
        recommendations=[Recommendation.model_validate(r) for r in doc.get("recommendations", [])],
    )


def _problem_to_document(problem: DeliveryProblem | None) -> Document | None:
    if problem is None:
        return None
    return {"reason": problem.reason, "failed_at": problem.failed_at, "address": problem.address}


def _problem_from_document(doc: Document | None) -> DeliveryProblem | None:
    if not doc:
        return None
    return DeliveryProblem(reason=doc["reason"], failed_at=doc["failed_at"], address=doc["address"])
