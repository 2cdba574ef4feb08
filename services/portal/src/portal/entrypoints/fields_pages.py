"""The Handlungsfelder: the network's fields of action, proposing one, recording the steering
committee's adoption (after a confirmation: the committee and the office are told) and closing an
adopted one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.domain import forms
from portal.domain.forms import FIELD_FIELDS, Form, Problems
from portal.entrypoints.web import Calls, Posted, form_page, refused, see_other

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
    return form_page(
        request,
        "fields.html",
        call.person,
        form=form or {},
        problems=problems,
        network=network.body,
        all_fields=sorted(
            fields, key=lambda f: (_ORDER.get(f["status"], 3), f["title"].casefold())
        ),
        field_id=field_id,
        confirm=confirm,
        asked=next((f for f in fields if f["id"] == field_id), None),
    )


async def _change(
    request: Request,
    call: Calls,
    network_id: str,
    form: dict[str, str],
    *,
    path: str,
    body: dict[str, Any],
    known: set[str],
    notice: str,
    version: int | None = None,
    field_id: str | None = None,
    confirm: str | None = None,
) -> Response:
    """A change of the network's fields at `path` (below its fields of action): the registry's
    refusal on the page (at the field `field_id`, if one), else back to the list, told the
    `notice` with the field's {title}."""
    answer = await call.change(
        call.apis.registry,
        "POST",
        f"/networks/{network_id}/fields-of-action{path}",
        body,
        version=version,
    )
    if not answer.ok:
        problems = forms.registry_problems(answer.status, answer.body, known)
        return await _fields_page(
            request,
            call,
            network_id,
            form=form,
            problems=problems,
            field_id=field_id,
            confirm=confirm,
        )
    call.person.notice = notice.format(title=answer.body["title"])
    return see_other(f"/netzwerke/{network_id}/handlungsfelder")


@router.get("/netzwerke/{network_id}/handlungsfelder")
async def fields_of_action(request: Request, network_id: str, call: Calls) -> HTMLResponse:
    return await _fields_page(request, call, network_id)


@router.post("/netzwerke/{network_id}/handlungsfelder", response_model=None)
async def propose(request: Request, network_id: str, call: Calls, form: Posted) -> Response:
    return await _change(
        request,
        call,
        network_id,
        form,
        path="",
        body=forms.field_body(form),
        known=FIELD_FIELDS,
        notice="Das Handlungsfeld „{title}“ ist vorgeschlagen. Sobald der Lenkungskreis es "
        "beschlossen hat, tragen Sie den Beschluss hier ein.",
    )


@dataclass(frozen=True)
class _Step:
    """What becomes of one field of action: the registry's path below it, its body, the form's
    fields and the notice (with the field's {title}); `confirm` names the confirmation asked
    first, where people are mailed."""

    path: str
    body: Callable[[Form], dict[str, Any]]
    known: set[str]
    notice: str
    confirm: str | None = None


# A field's steps by the portal's path below it.
_STEPS = {
    # The steering committee's adoption: the committee and the office are mailed.
    "beschliessen": _Step(
        "adoption",
        forms.adoption_body,
        {"adopted_on"},
        "Das Handlungsfeld „{title}“ ist beschlossen; der Lenkungskreis und das "
        "Bildungsbüro werden per E-Mail informiert.",
        confirm="adopt",
    ),
    # An adopted field's closure.
    "abschliessen": _Step(
        "closure",
        forms.closure_body,
        {"closed_on"},
        "Das Handlungsfeld „{title}“ ist abgeschlossen.",
    ),
}


def _step_route(segment: str, step: _Step) -> None:
    @router.post(
        f"/netzwerke/{{network_id}}/handlungsfelder/{{field_id}}/{segment}", response_model=None
    )
    async def stepped(
        request: Request, network_id: str, field_id: str, call: Calls, form: Posted
    ) -> Response:
        if step.confirm and form.get("confirmed") != "yes":  # people are mailed: ask first
            return await _fields_page(
                request, call, network_id, form=form, field_id=field_id, confirm=step.confirm
            )
        return await _change(
            request,
            call,
            network_id,
            form,
            path=f"/{field_id}/{step.path}",
            body=step.body(form),
            version=forms.version_read(form),
            known=step.known,
            notice=step.notice,
            field_id=field_id,
            confirm=step.confirm,
        )


for _segment, _step in _STEPS.items():
    _step_route(_segment, _step)
