"""The Regionale Bildungskonferenzen: a network's list, a draft, its preview, publishing (after a
confirmation: the invitations go out) and the answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.domain import forms, german
from portal.domain.forms import Form, Problems
from portal.entrypoints.web import Calls, Posted, form_page, page, refused, see_other

router = APIRouter()

CONFERENCE_FIELDS = {
    "title",
    "kind",
    "topic",
    "day",
    "start",
    "end",
    "venue.name",
    "venue.address",
    "online_url",
    "capacity",
}


async def _conferences_page(
    request: Request,
    call: Calls,
    network_id: str,
    *,
    form: dict[str, str] | None = None,
    problems: Problems | None = None,
) -> HTMLResponse:
    network = await call.registry(f"/networks/{network_id}")
    if not network.ok:
        return refused(request, call.person, network)
    listed = await call.conferences("/conferences", network_id=network_id, limit=100)
    return form_page(
        request,
        "conferences.html",
        call.person,
        form=form or {"kind": "plenary"},
        problems=problems,
        network=network.body,
        conferences=listed.body["items"] if listed.ok else [],
    )


@router.get("/netzwerke/{network_id}/konferenzen")
async def conferences(request: Request, network_id: str, call: Calls) -> HTMLResponse:
    return await _conferences_page(request, call, network_id)


@router.post("/netzwerke/{network_id}/konferenzen", response_model=None)
async def create_draft(request: Request, network_id: str, call: Calls, form: Posted) -> Response:
    answer = await call.change(
        call.apis.conferences, "POST", "/conferences", forms.conference_body(form, network_id)
    )
    if not answer.ok:
        problems = Problems.of(answer.status, answer.body, CONFERENCE_FIELDS)
        return await _conferences_page(request, call, network_id, form=form, problems=problems)
    return see_other(f"/konferenzen/{answer.body['id']}")


async def _conference_page(
    request: Request,
    call: Calls,
    conference_id: str,
    *,
    confirm_publish: bool = False,
    problems: Problems | None = None,
    confirm: str | None = None,
    action: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int | None = None,
) -> HTMLResponse:
    """The conference; with `confirm` ("answer", "reschedule", "cancel", "conclude", "guest") the
    confirmation of that change at the top, with `problems` those of the form `action`."""
    answer = await call.conferences(f"/conferences/{conference_id}")
    if not answer.ok:
        return refused(request, call.person, answer)
    conference = answer.body
    invitations = conference["invitations"] or []
    fields_of_action: list[dict[str, Any]] = []
    if conference["status"] == "scheduled":
        network = await call.registry(f"/networks/{conference['network_id']}")
        if network.ok:
            fields_of_action = _adopted(network.body)
    posted = form or {}
    if status_code is None:
        status_code = 409 if problems else 200
    return page(
        request,
        "conference.html",
        call.person,
        status_code=status_code,
        network={"id": conference["network_id"], "name": conference["network_name"]},
        conference=conference,
        version=answer.version,
        invitations=sorted(invitations, key=lambda i: (german.answer(i), i["name"])),
        confirm_publish=confirm_publish,
        problems=problems or Problems(),
        confirm=confirm,
        action=action,
        form={**_current_time_and_place(conference), **posted},
        posted=posted,
        asked=next(
            (i for i in invitations if i["invitation_id"] == posted.get("invitation")), None
        ),
        fields_of_action=fields_of_action,
        may=_what_may_be_done(conference, fields_of_action),
        answers=forms.ANSWERS,
    )


def _adopted(network: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in network.get("fields_of_action") or [] if f.get("status") == "adopted"]


def _current_time_and_place(conference: dict[str, Any]) -> dict[str, str]:
    """The reschedule form starts from the conference's day, times and place."""
    starts = datetime.fromisoformat(conference["starts_at_local"])
    ends = datetime.fromisoformat(conference["ends_at_local"])
    venue = conference.get("venue") or {}
    return {
        "day": starts.date().isoformat(),
        "start": starts.strftime("%H:%M"),
        "end": ends.strftime("%H:%M"),
        "venue.name": venue.get("name") or "",
        "venue.address": venue.get("address") or "",
        "online_url": conference.get("online_url") or "",
    }


def _what_may_be_done(
    conference: dict[str, Any], fields_of_action: list[dict[str, Any]]
) -> dict[str, bool]:
    """Which forms can work for the conference as it stands (the API has the last word)."""
    now = datetime.now(UTC)
    starts = datetime.fromisoformat(conference["starts_at"])
    ends = datetime.fromisoformat(conference["ends_at"])
    if starts.tzinfo is None:
        starts, ends = starts.replace(tzinfo=UTC), ends.replace(tzinfo=UTC)
    scheduled = conference["status"] == "scheduled"
    writer = conference["invitations"] is not None
    return {
        "answer": writer and scheduled and now < starts,
        "reschedule": writer and scheduled and now < starts,
        "cancel": writer and scheduled and now < ends,
        "conclude": writer and scheduled and now >= ends,
        # A draft's guests are its delegates, edited with the draft; the API invites one only
        # to a published conference (and mails them at once).
        "guest": writer and scheduled and now < starts,
        "fields": bool(fields_of_action),
    }


@router.get("/konferenzen/{conference_id}")
async def conference(request: Request, conference_id: str, call: Calls) -> HTMLResponse:
    return await _conference_page(request, call, conference_id)


@router.get("/konferenzen/{conference_id}/vorschau")
async def preview(
    request: Request, conference_id: str, call: Calls, einladung: str
) -> HTMLResponse:
    answer = await call.conferences(
        f"/conferences/{conference_id}/preview", invitation_id=einladung
    )
    if not answer.ok:
        return refused(request, call.person, answer)
    return page(
        request, "preview.html", call.person, conference_id=conference_id, preview=answer.body
    )


@router.post("/konferenzen/{conference_id}/veroeffentlichen", response_model=None)
async def publish(request: Request, conference_id: str, call: Calls, form: Posted) -> Response:
    if form.get("confirmed") != "yes":  # the invitations go out: ask first
        return await _conference_page(request, call, conference_id, confirm_publish=True)
    version = forms.version_read(form)
    answer = await call.change(
        call.apis.conferences, "POST", f"/conferences/{conference_id}/publish", version=version
    )
    if not answer.ok:
        problems = Problems.of(answer.status, answer.body, set())
        return await _conference_page(request, call, conference_id, problems=problems)
    return see_other(f"/konferenzen/{conference_id}")


async def _refused_change(
    request: Request,
    call: Calls,
    conference_id: str,
    action: str,
    form: dict[str, str],
    problems: Problems,
    status: int,
) -> HTMLResponse:
    return await _conference_page(
        request,
        call,
        conference_id,
        problems=problems,
        action=action,
        form=form,
        status_code=status if 400 <= status < 500 else 400,
    )


@dataclass(frozen=True)
class _Confirmed:
    """A change of the conference that sends mail, so it is confirmed first."""

    action: str  # the form on the conference page, and the confirmation asked: "reschedule"
    path: str  # the API's, below the conference: "/reschedule"
    problems: Callable[[Form], Problems]  # what the form can tell itself
    body: Callable[[Form], dict[str, Any]]
    refusal: Callable[[int, Any], Problems]  # the API's answer, beside the fields
    notice: Callable[[Form, Any], str]  # what happened: the form and the API's answer
    method: str = "POST"


async def _confirmed_change(
    request: Request, call: Calls, conference_id: str, form: dict[str, str], change: _Confirmed
) -> Response:
    """The form's own problems, else a confirmation, else the API's answer (beside the fields),
    else back to the conference with what happened."""
    action = change.action
    checked = change.problems(form)
    if checked:
        return await _refused_change(request, call, conference_id, action, form, checked, 422)
    if form.get("confirmed") != "yes":
        return await _conference_page(request, call, conference_id, confirm=action, form=form)
    answer = await call.change(
        call.apis.conferences,
        change.method,
        f"/conferences/{conference_id}{change.path}",
        change.body(form),
        version=forms.version_read(form),
    )
    if not answer.ok:
        problems = change.refusal(answer.status, answer.body)
        return await _refused_change(
            request, call, conference_id, action, form, problems, answer.status
        )
    call.person.notice = change.notice(form, answer.body)
    return see_other(f"/konferenzen/{conference_id}")


# The changes that need nothing but their form, by the portal's path below the conference.
_CONFIRMED = {
    # A new time (and place); everyone invited gets an update with a calendar entry.
    "verlegen": _Confirmed(
        "reschedule",
        "/reschedule",
        forms.reschedule_problems,
        forms.reschedule_body,
        partial(forms.conference_problems, known=forms.RESCHEDULE_FIELDS),
        lambda _, moved: (
            f"Die Konferenz ist verlegt auf {moved['when']}. Alle Eingeladenen erhalten "
            "die Änderung mit neuem Kalendereintrag per E-Mail."
        ),
    ),
    # Cancelled for good; everyone invited is told why.
    "absagen": _Confirmed(
        "cancel",
        "/cancel",
        forms.cancel_problems,
        forms.cancel_body,
        partial(forms.conference_problems, known=forms.CANCEL_FIELDS),
        lambda _, __: (
            "Die Konferenz ist abgesagt. Alle Eingeladenen erhalten die Absage mit dem Grund "
            "per E-Mail; der Termin verschwindet aus ihren Kalendern."
        ),
    ),
    # A guest (an external delegate) of a published conference: invited at once with a
    # calendar entry and a response link.
    "gast": _Confirmed(
        "guest",
        "/invitations",
        forms.guest_problems,
        forms.guest_body,
        forms.guest_refused,
        lambda form, _: (
            f"{form.get('name', '').strip()} ist eingeladen; die Einladung ist unterwegs."
        ),
    ),
}


def _confirmed_route(segment: str, change: _Confirmed) -> None:
    @router.post(f"/konferenzen/{{conference_id}}/{segment}", response_model=None)
    async def confirmed(
        request: Request, conference_id: str, call: Calls, form: Posted
    ) -> Response:
        return await _confirmed_change(request, call, conference_id, form, change)


for _segment, _change in _CONFIRMED.items():
    _confirmed_route(_segment, _change)


@router.post("/konferenzen/{conference_id}/antwort/{invitation_id}", response_model=None)
async def record_answer(
    request: Request, conference_id: str, invitation_id: str, call: Calls, form: Posted
) -> Response:
    """An answer given by phone; the invitee gets a confirmation mail: ask first."""
    answer = _Confirmed(
        "answer",
        f"/invitations/{invitation_id}/response",
        forms.response_problems,
        forms.response_body,
        partial(forms.conference_problems, known=set()),
        _answer_recorded,
        method="PUT",
    )
    form = {**form, "invitation": invitation_id}
    return await _confirmed_change(request, call, conference_id, form, answer)


def _answer_recorded(form: Form, conference: dict[str, Any]) -> str:
    invited = next(
        (i for i in conference["invitations"] or [] if i["invitation_id"] == form["invitation"]),
        None,
    )
    name = invited["name"] if invited else "Die eingeladene Person"
    return (
        f"Die Antwort von {name} ist eingetragen ({german.answer(invited or {})}); "
        "die Bestätigung per E-Mail ist unterwegs."
    )


@router.post("/konferenzen/{conference_id}/abschliessen", response_model=None)
async def conclude(request: Request, conference_id: str, call: Calls, form: Posted) -> Response:
    """The results: a summary and a recommendation per adopted field of action; mailed to all."""
    found = await call.conferences(f"/conferences/{conference_id}")
    if not found.ok:
        return refused(request, call.person, found)
    network = await call.registry(f"/networks/{found.body['network_id']}")
    field_ids = [f["id"] for f in _adopted(network.body)] if network.ok else []
    sent = [r["field_of_action_id"] for r in forms.recommendations_of(form, field_ids)]
    known = {"summary", *(forms.RECOMMENDATION + i for i in field_ids)}
    conclusion = _Confirmed(
        "conclude",
        "/conclude",
        partial(forms.conclude_problems, field_ids=field_ids),
        partial(forms.conclude_body, field_ids=field_ids),
        partial(forms.conference_problems, known=known, field_ids=sent),
        lambda _, __: (
            "Die Ergebnisse sind festgehalten. Der Lenkungskreis und die Bezirkskoordination "
            "erhalten die Zusammenfassung und die Empfehlungen per E-Mail."
        ),
    )
    return await _confirmed_change(request, call, conference_id, form, conclusion)
