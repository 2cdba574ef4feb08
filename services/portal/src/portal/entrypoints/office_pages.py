"""The Regionale Bildungsbüro: its staff (the municipality's own and the Land's seconded
teachers), assigning someone (after a confirmation: a welcome mail goes out) and a staff member
leaving."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.apis import Answer
from portal.domain import forms
from portal.domain.forms import STAFF_FIELDS, STAFF_REMOVAL_FIELDS, Problems
from portal.entrypoints.web import Calls, Posted, page, refused, see_other

router = APIRouter()


def _active(network: dict[str, Any]) -> list[dict[str, Any]]:
    staff = [s for s in network.get("staff") or [] if s.get("removal_reason") is None]
    return sorted(staff, key=lambda s: s["person"]["name"])


def _one(network: dict[str, Any] | None, staff_id: str) -> dict[str, Any] | None:
    return next((s for s in (network or {}).get("staff") or [] if s["id"] == staff_id), None)


async def _office_page(
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
    staff = _active(network.body)
    return page(
        request,
        "office.html",
        call.person,
        status_code=422 if problems else 200,
        network=network.body,
        municipal=[s for s in staff if s["employer"] == "municipality"],
        teachers=[s for s in staff if s["employer"] == "state"],
        form=form or {},
        problems=problems or Problems(),
        confirm=confirm,
        share=forms.percent((form or {}).get("hours_share")),
    )


@router.get("/netzwerke/{network_id}/bildungsbuero")
async def office(request: Request, network_id: str, call: Calls) -> HTMLResponse:
    return await _office_page(request, call, network_id)


@router.post("/netzwerke/{network_id}/bildungsbuero", response_model=None)
async def assign_staff(request: Request, network_id: str, call: Calls, form: Posted) -> Response:
    checked = forms.staff_problems(form)
    if checked:
        return await _office_page(request, call, network_id, form=form, problems=checked)
    if form.get("confirmed") != "yes":  # the welcome mail goes out: ask first
        return await _office_page(request, call, network_id, form=form, confirm=True)
    answer = await call.change(
        call.apis.registry,
        "POST",
        f"/networks/{network_id}/office/staff",
        forms.staff_body(form),
    )
    if not answer.ok:
        problems = forms.registry_problems(answer.status, answer.body, STAFF_FIELDS)
        return await _office_page(request, call, network_id, form=form, problems=problems)
    name = answer.body["person"]["name"]
    call.person.notice = (
        f"{name} arbeitet jetzt im Regionalen Bildungsbüro mit; die Begrüßungsmail ist unterwegs."
    )
    return see_other(f"/netzwerke/{network_id}/bildungsbuero")


@router.post("/netzwerke/{network_id}/bildungsbuero/{staff_id}/entfernen", response_model=None)
async def remove_staff(
    request: Request, network_id: str, staff_id: str, call: Calls, form: Posted
) -> Response:
    if form.get("confirmed") != "yes":
        network = await call.registry(f"/networks/{network_id}")
        if not network.ok:
            return refused(request, call.person, network)
        staff = _one(network.body, staff_id)
        if staff is None:
            return refused(request, call.person, Answer(404, None, None))
        return page(
            request,
            "remove_staff.html",
            call.person,
            network=network.body,
            staff=staff,
            form=form,
            problems=Problems(),
        )
    version = int(form["version"]) if form.get("version", "").isdigit() else None
    answer = await call.change(
        call.apis.registry,
        "POST",
        f"/networks/{network_id}/office/staff/{staff_id}/removal",
        forms.staff_removal_body(form),
        version=version,
    )
    if not answer.ok:
        network = await call.registry(f"/networks/{network_id}")
        problems = forms.registry_problems(answer.status, answer.body, STAFF_REMOVAL_FIELDS)
        return page(
            request,
            "remove_staff.html",
            call.person,
            status_code=answer.status,
            network=network.body,
            staff=_one(network.body, staff_id),
            form=form,
            problems=problems,
        )
    call.person.notice = (
        f"{answer.body['person']['name']} arbeitet nicht mehr im Regionalen Bildungsbüro mit."
    )
    return see_other(f"/netzwerke/{network_id}/bildungsbuero")
