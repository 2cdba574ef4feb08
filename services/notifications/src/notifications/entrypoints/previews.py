"""Previews: a mail exactly as one recipient would receive it, rendered and nothing else.

Another service (the conferences service, for a draft's invitation) sends the event the mail
would come from; the rules table picks the mail and its recipient as for the real event, and the
same renderer writes it, with the same contact the real mail names. Nothing is sent, stored or
published. The caller's own token decides: an office for its network's events, the district for
all.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from notifications.domain.recipients import Contact
from notifications.domain.rules import Addressing, plan
from notifications.entrypoints.api import Services
from rbn_shared.auth import Caller
from rbn_shared.events.catalogue import CATALOGUE
from rbn_shared.http import Problem, field_error, problem_responses


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: str = Field(max_length=100, description="e.g. conference-scheduled")
    payload: dict[str, Any] = Field(description="The event's payload, as it would be published")
    invitation_id: str = Field(max_length=100, description="The invitee whose mail to show")


class PreviewOut(BaseModel):
    invitation_id: str
    recipient: str
    subject: str
    text: str
    html: str
    ics: str | None = Field(description="The calendar attachment, if the mail has one")
    calendar_method: str | None


router = APIRouter(prefix="/previews", tags=["previews"])


@router.post(
    "",
    summary="Render the mail an event would send to one invitee, without sending it",
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def preview(body: PreviewIn, caller: Caller, services: Services) -> PreviewOut:
    spec = CATALOGUE.get(body.event_type)
    if spec is None:
        raise _invalid("event_type", f"unknown event type {body.event_type!r}")
    try:
        payload = spec.model.model_validate(body.payload)
    except ValidationError as error:
        raise _invalid("payload", error.errors()[0]["msg"]) from error
    network = getattr(payload, "network", None)
    caller.require_write(network.id if network is not None else None)
    mails = [
        m
        for m in plan(body.event_type, payload, Addressing())
        if m.recipient.invitation_id == body.invitation_id
    ]
    if not mails:
        raise Problem(
            404,
            "Not found",
            f"The event sends no mail to invitation {body.invitation_id}.",
            kind="not-found",
        )
    mail = mails[0]
    organizer = getattr(payload, "organizer", None)
    # The contact the real mail names (the notifier's: the conference's organiser).
    extra = {"contact": Contact(str(organizer.email), organizer.name)} if organizer else None
    rendered = services.renderer.render(
        mail.rule, mail.recipient, payload, stamp=services.clock(), extra=extra
    )
    calendar = rendered.calendar
    return PreviewOut(
        invitation_id=body.invitation_id,
        recipient=mail.recipient.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        ics=calendar.ics.decode() if calendar else None,
        calendar_method=calendar.method.value if calendar else None,
    )


def _invalid(field: str, reason: str) -> Problem:
    return Problem(
        422,
        "Invalid input",
        "Some fields break the rules.",
        errors=[field_error(field, reason)],
        kind="invalid-input",
    )
