"""The Lenkungskreis: its members, adding one (after a confirmation: a welcome mail goes out)
and removing one (the member is told)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.apis import Answer
from portal.domain import forms
from portal.domain.forms import Problems
from portal.entrypoints.web import Calls, Posted, page, refused, see_other

router = APIRouter()

MEMBER_FIELDS = {
    "person.name",
    "person.email",
    "person.organisation",
    "person.function",
    "side",
    "role",
    "supervision",
    "term_start",
    "term_end",
}


async def _committee_page(
    request: Request,
    call: Calls,
    network_id: str,
    *,
    form: dict[str, str] | None = None,
    problems: Problems | None = None,
    confirm: bool = False,
) -> HTMLResponse:
    network = await call.registry(f"/networks/{network_id}")
    if not network.ok:
        return refused(request, call.person, network)
    members = [m for m in network.body["committee"] or [] if m.get("removed_on") is None]
    return page(
        request,
        "committee.html",
        call.person,
        status_code=422 if problems else 200,
        network=network.body,
        members=sorted(
            members, key=lambda m: (m["side"], m["role"] != "chair", m["person"]["name"])
        ),
        form=form or {},
        problems=problems or Problems(),
        confirm=confirm,
    )


@router.get("/netzwerke/{network_id}/lenkungskreis")
async def committee(request: Request, network_id: str, call: Calls) -> HTMLResponse:
    return await _committee_page(request, call, network_id)


@router.post("/netzwerke/{network_id}/lenkungskreis", response_model=None)
async def add_member(request: Request, network_id: str, call: Calls, form: Posted) -> Response:
    if form.get("confirmed") != "yes":  # the welcome mail goes out: ask first
        return await _committee_page(request, call, network_id, form=form, confirm=True)
    answer = await call.change(
        call.apis.registry,
        "POST",
        f"/networks/{network_id}/committee/members",
        forms.member_body(form),
    )
    if not answer.ok:
        problems = Problems.of(answer.status, answer.body, MEMBER_FIELDS)
        return await _committee_page(request, call, network_id, form=form, problems=problems)
    name = answer.body["person"]["name"]
    call.person.notice = (
        f"{name} gehört jetzt dem Lenkungskreis an; die Begrüßungsmail ist unterwegs."
    )
    return see_other(f"/netzwerke/{network_id}/lenkungskreis")


@router.post("/netzwerke/{network_id}/lenkungskreis/{member_id}/entfernen", response_model=None)
async def remove_member(
    request: Request, network_id: str, member_id: str, call: Calls, form: Posted
) -> Response:
    if form.get("confirmed") != "yes":
        network = await call.registry(f"/networks/{network_id}")
        if not network.ok:
            return refused(request, call.person, network)
        member = next((m for m in network.body["committee"] or [] if m["id"] == member_id), None)
        if member is None:
            return refused(request, call.person, Answer(404, None, None))
        return page(
            request,
            "remove_member.html",
            call.person,
            network=network.body,
            member=member,
            form=form,
            problems=Problems(),
        )
    version = int(form["version"]) if form.get("version", "").isdigit() else None
    answer = await call.change(
        call.apis.registry,
        "POST",
        f"/networks/{network_id}/committee/members/{member_id}/removal",
        forms.removal_body(form),
        version=version,
    )
    if not answer.ok:
        network = await call.registry(f"/networks/{network_id}")
        member = next(
            (m for m in (network.body or {}).get("committee") or [] if m["id"] == member_id), None
        )
        problems = Problems.of(answer.status, answer.body, {"removed_on", "reason"})
        return page(
            request,
            "remove_member.html",
            call.person,
            status_code=answer.status,
            network=network.body,
            member=member,
            form=form,
            problems=problems,
        )
    call.person.notice = f"{answer.body['person']['name']} gehört dem Lenkungskreis nicht mehr an."
    return see_other(f"/netzwerke/{network_id}/lenkungskreis")
