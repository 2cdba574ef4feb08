"""The Handlungsfelder: the network's fields of action, proposing one, recording the steering
committee's adoption (after a confirmation: the committee and the office are told) and closing an
adopted one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.domain import forms
from portal.domain.forms import FIELD_FIELDS, Problems
from portal.entrypoints.web import Calls, Posted, page, refused, see_other

router = APIRouter()

_ORDER = {"adopted": 0, "proposed": 1, "closed": 2}


async def _fields_page(
    request: Request,
    call: Calls,
    network_id: str,
    *,
    form: dict[str, str] | None = None,
    problems: Problems | None = None,
    field_id: str | None = None,
    confirm: str | None = None,
) -> HTMLResponse:
    """The page; a refused adoption or closure shows its `problems` at the field `field_id`
    instead of at the proposal form, and `confirm` ("adopt") asks about `field_id` first."""
    network = await call.registry(f"/networks/{network_id}")
    if not network.ok:
        return refused(request, call.person, network)
    fields: list[dict[str, Any]] = network.body.get("fields_of_action") or []
    return page(
        request,
        "fields.html",
        call.person,
        status_code=422 if problems else 200,
        network=network.body,
        all_fields=sorted(
            fields, key=lambda f: (_ORDER.get(f["status"], 3), f["title"].casefold())
        ),
        form=form or {},
        problems=problems or Problems(),
        field_id=field_id,
        confirm=confirm,
        asked=next((f for f in fields if f["id"] == field_id), None),
    )


@router.get("/netzwerke/{network_id}/handlungsfelder")
async def fields_of_action(request: Request, network_id: str, call: Calls) -> HTMLResponse:
    return await _fields_page(request, call, network_id)


@router.post("/netzwerke/{network_id}/handlungsfelder", response_model=None)
async def propose(request: Request, network_id: str, call: Calls, form: Posted) -> Response:
    answer = await call.change(
        call.apis.registry,
        "POST",
        f"/networks/{network_id}/fields-of-action",
        forms.field_body(form),
    )
    if not answer.ok:
        problems = forms.registry_problems(answer.status, answer.body, FIELD_FIELDS)
        return await _fields_page(request, call, network_id, form=form, problems=problems)
    call.person.notice = (
        f"Das Handlungsfeld „{answer.body['title']}“ ist vorgeschlagen. Sobald der Lenkungskreis "
        "es beschlossen hat, tragen Sie den Beschluss hier ein."
    )
    return see_other(f"/netzwerke/{network_id}/handlungsfelder")


@router.post("/netzwerke/{network_id}/handlungsfelder/{field_id}/beschliessen", response_model=None)
async def adopt(
    request: Request, network_id: str, field_id: str, call: Calls, form: Posted
) -> Response:
    if form.get("confirmed") != "yes":  # the committee and the office are mailed: ask first
        return await _fields_page(
            request, call, network_id, form=form, field_id=field_id, confirm="adopt"
        )
    answer = await call.change(
        call.apis.registry,
        "POST",
        f"/networks/{network_id}/fields-of-action/{field_id}/adoption",
        forms.adoption_body(form),
        version=forms.version_read(form),
    )
    if not answer.ok:
        problems = forms.registry_problems(answer.status, answer.body, {"adopted_on"})
        return await _fields_page(
            request,
            call,
            network_id,
            form=form,
            problems=problems,
            field_id=field_id,
            confirm="adopt",
        )
    call.person.notice = (
        f"Das Handlungsfeld „{answer.body['title']}“ ist beschlossen; der Lenkungskreis und das "
        "Bildungsbüro werden per E-Mail informiert."
    )
    return see_other(f"/netzwerke/{network_id}/handlungsfelder")


@router.post("/netzwerke/{network_id}/handlungsfelder/{field_id}/abschliessen", response_model=None)
async def close(
    request: Request, network_id: str, field_id: str, call: Calls, form: Posted
) -> Response:
    answer = await call.change(
        call.apis.registry,
        "POST",
        f"/networks/{network_id}/fields-of-action/{field_id}/closure",
        forms.closure_body(form),
        version=forms.version_read(form),
    )
    if not answer.ok:
        problems = forms.registry_problems(answer.status, answer.body, {"closed_on"})
        return await _fields_page(
            request, call, network_id, form=form, problems=problems, field_id=field_id
        )
    call.person.notice = f"Das Handlungsfeld „{answer.body['title']}“ ist abgeschlossen."
    return see_other(f"/netzwerke/{network_id}/handlungsfelder")
