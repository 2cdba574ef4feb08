"""The district coordination's Rundschreiben (bulletins) to all twelve networks: the ones sent,
and a new one (after a confirmation: every network's office and Lenkungskreis get it by mail).
Everyone signed in reads them; only the district may send one (the registry decides)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.domain import forms
from portal.domain.forms import Form, Problems
from portal.entrypoints.web import Call, Calls, Posted, page, refused, see_other

router = APIRouter()

BULLETIN_FIELDS = {"title", "body", "author.name", "author.email", "author.function"}


async def _bulletins_page(
    request: Request,
    call: Call,
    *,
    form: Form | None = None,
    problems: Problems | None = None,
    confirm: bool = False,
) -> HTMLResponse:
    listed = await call.registry("/district/bulletins", limit=50)
    if not listed.ok:
        return refused(request, call.person, listed)
    person = call.person
    return page(
        request,
        "bulletins.html",
        person,
        status_code=422 if problems else 200,
        bulletins=listed.body["items"],
        form=dict(form or {"author.name": person.name, "author.email": person.email or ""}),
        problems=problems or Problems(),
        confirm=confirm,
    )


@router.get("/bezirk/rundschreiben")
async def bulletins(request: Request, call: Calls) -> HTMLResponse:
    return await _bulletins_page(request, call)


@router.post("/bezirk/rundschreiben", response_model=None)
async def publish_bulletin(request: Request, call: Calls, form: Posted) -> Response:
    if form.get("confirmed") != "yes":  # it goes to every network: ask first
        return await _bulletins_page(request, call, form=form, confirm=True)
    answer = await call.change(
        call.apis.registry, "POST", "/district/bulletins", forms.bulletin_body(form)
    )
    if not answer.ok:
        problems = Problems.of(answer.status, answer.body, BULLETIN_FIELDS)
        return await _bulletins_page(request, call, form=form, problems=problems)
    call.person.notice = (
        f"Das Rundschreiben „{answer.body['title']}“ geht an alle "
        f"{len(answer.body['network_ids'])} Netzwerke."
    )
    return see_other("/bezirk/rundschreiben")
