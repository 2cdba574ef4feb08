"""The Regionale Bildungskonferenzen: a network's list, a draft, its preview, publishing (after a
confirmation: the invitations go out) and the answers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.domain import forms, german
from portal.domain.forms import Problems
from portal.entrypoints.web import Calls, Posted, page, refused, see_other

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
    return page(
        request,
        "conferences.html",
        call.person,
        status_code=422 if problems else 200,
        network=network.body,
        conferences=listed.body["items"] if listed.ok else [],
        form=form or {"kind": "plenary"},
        problems=problems or Problems(),
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
) -> HTMLResponse:
    answer = await call.conferences(f"/conferences/{conference_id}")
    if not answer.ok:
        return refused(request, call.person, answer)
    conference = answer.body
    invitations = conference["invitations"] or []
    return page(
        request,
        "conference.html",
        call.person,
        status_code=409 if problems else 200,
        network={"id": conference["network_id"], "name": conference["network_name"]},
        conference=conference,
        version=answer.version,
        invitations=sorted(invitations, key=lambda i: (german.answer(i), i["name"])),
        confirm_publish=confirm_publish,
        problems=problems or Problems(),
    )


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
    version = int(form["version"]) if form.get("version", "").isdigit() else None
    answer = await call.change(
        call.apis.conferences, "POST", f"/conferences/{conference_id}/publish", version=version
    )
    if not answer.ok:
        problems = Problems.of(answer.status, answer.body, set())
        return await _conference_page(request, call, conference_id, problems=problems)
    return see_other(f"/konferenzen/{conference_id}")
