"""Signing in and out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.entrypoints.web import PortalDep, Posted, page, see_other
from rbn_shared.logging import get_logger

router = APIRouter()
log = get_logger(__name__)


@router.get("/", response_model=None)
async def start(request: Request, portal: PortalDep) -> Response:
    person = portal.sign_in.current(request)
    if person is None:
        return page(request, "sign_in.html", None)
    if person.own_network:
        return see_other(f"/netzwerke/{person.own_network}")
    return see_other("/netzwerke")


@router.get("/anmelden")
async def sign_in_start(request: Request, portal: PortalDep) -> RedirectResponse:
    return await portal.sign_in.start(request)


@router.get("/anmelden/rueckkehr", response_model=None)
async def sign_in_finish(request: Request, portal: PortalDep) -> Response:
    try:
        await portal.sign_in.finish(request)
    except Exception as error:  # the provider refused, or the account has no role
        status = getattr(error, "status", 400)
        log.info("sign-in refused", error=type(error).__name__, status=status)
        message = (
            "Ihr Konto hat keine Rolle im Portal (Bezirkskoordination, ein Bildungsbüro oder "
            "lesender Zugang). Bitte wenden Sie sich an die Bezirkskoordination."
            if status == 403
            else "Die Anmeldung ist nicht gelungen. Bitte versuchen Sie es noch einmal."
        )
        return page(request, "sign_in.html", None, status_code=status, message=message)
    return see_other("/")


@router.post("/abmelden")
async def sign_out(request: Request, portal: PortalDep, form: Posted) -> RedirectResponse:
    return see_other(await portal.sign_in.end(request))


@router.get("/abgemeldet")
async def signed_out(request: Request) -> HTMLResponse:
    return page(request, "signed_out.html", None)
