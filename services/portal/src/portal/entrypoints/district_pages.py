"""The district coordination's pages.

Rundschreiben (bulletins) to all twelve networks: the ones sent, and a new one (after a
confirmation: every network's office and Lenkungskreis get it by mail). Everyone signed in reads
them; only the district may send one (the registry decides).

Wochenbericht: what happened across the networks in one report period, as the district report
mail groups it, week by week. Only the district reads it (the notifications service decides).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.domain import forms, german
from portal.domain.forms import Form, Problems
from portal.entrypoints.web import Call, Calls, Posted, form_page, page, refused, see_other

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
    return form_page(
        request,
        "bulletins.html",
        person,
        form=dict(form or {"author.name": person.name, "author.email": person.email or ""}),
        problems=problems,
        bulletins=listed.body["items"],
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


@router.get("/bezirk/wochenbericht")
async def weekly_report(request: Request, call: Calls, woche: str | None = None) -> HTMLResponse:
    """The district report's period (default: the current one, so far); the notifications
    service refuses everyone but the district, and so the page does."""
    answer = await call.notifications("/district/report", **({"week": woche} if woche else {}))
    if not answer.ok:
        return refused(request, call.person, answer)
    report = answer.body
    following = report["next_period_start"]
    return page(
        request,
        "weekly_report.html",
        call.person,
        report=report,
        previous_url=_week_url(report["previous_period_start"]),
        next_url=_week_url(following) if following else None,
        current=following is None,
    )


def _week_url(period_start: str) -> str:
    """A period's address, named by its first day (any of its days names it)."""
    return f"/bezirk/wochenbericht?woche={german.berlin_day(period_start).isoformat()}"
