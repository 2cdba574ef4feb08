"""The personal response page behind the link in an invitation: German, no login, works on a phone.

GET shows the conference at a glance, the current answer and three buttons; the buttons post a
plain HTML form (no JavaScript needed), and the answer is shown again after a redirect.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from conferences.adapters.links import InvalidLink, LinkClaims
from conferences.domain.errors import DomainError, NotFound
from conferences.domain.local_time import german_span
from conferences.domain.model import Conference, ConferenceStatus
from conferences.service_layer.commands import RecordResponse
from conferences.service_layer.services import ConferenceService
from rbn_shared.changes import Cause
from rbn_shared.events.conferences import ConferenceKind
from rbn_shared.events.conferences import Response as Answer
from rbn_shared.http import correlation_id_of, problem_responses
from rbn_shared.settings import LegalSettings

router = APIRouter(tags=["response page"])

templates = Environment(
    loader=PackageLoader("conferences.entrypoints", "templates"),
    autoescape=select_autoescape(["html"]),
)

LABELS = {
    "pending": "Noch keine Antwort",
    "accepted": "Zusage",
    "declined": "Absage",
    "tentative": "Unter Vorbehalt",
}

KIND_LABELS = {
    ConferenceKind.PLENARY: "Regionale Bildungskonferenz",
    ConferenceKind.PARTIAL: "Regionale Bildungskonferenz (Teilversammlung)",
}

# Pages with personal data: never cached, never shown in another site's frame.
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


# The page's own refusals are HTML pages, not problem documents: declared with their own
# content, which `document_problems` leaves as it is.
Answers = dict[int | str, dict[str, Any]]
INVALID_LINK: Answers = {
    403: {
        "description": "Forged, altered or expired link, or the invitation is gone: a German "
        'page "Dieser Link ist ungültig oder abgelaufen"',
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}
TOO_LATE: Answers = {
    409: {
        "description": "The conference takes no answers any more: the page, saying so",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}
SAVED: Answers = {303: {"description": "Saved: to the page showing the answer (post/redirect/get)"}}


@router.get(
    "/respond/{token}",
    response_class=HTMLResponse,
    summary="The response page",
    responses={**INVALID_LINK, **problem_responses(422)},
)
async def show(token: str, request: Request, saved: int = 0) -> Response:
    service: ConferenceService = request.app.state.service
    claims = _claims(service, token)
    if claims is None:
        return _invalid(request.app.state.legal)
    try:
        conference = await service.get(claims.conference_id)
        return _page(
            service,
            conference.value,
            claims.invitation_id,
            saved=bool(saved),
            legal=request.app.state.legal,
        )
    except NotFound:
        return _invalid(request.app.state.legal)


@router.post(
    "/respond/{token}",
    response_class=HTMLResponse,
    summary="Answer from the page",
    responses={**SAVED, **INVALID_LINK, **TOO_LATE, **problem_responses(413, 422)},
)
async def answer(
    token: str,
    request: Request,
    response: Annotated[Literal["accepted", "declined", "tentative"], Form()],
) -> Response:
    service: ConferenceService = request.app.state.service
    claims = _claims(service, token)
    if claims is None:
        return _invalid(request.app.state.legal)
    reply = RecordResponse(invitation_id=claims.invitation_id, response=Answer(response))
    try:
        await service.answer_by_link(claims.conference_id, reply, Cause(correlation_id_of(request)))
    except NotFound:
        return _invalid(request.app.state.legal)
    except DomainError:  # a draft, or the conference has started, was cancelled or concluded
        conference = await service.get(claims.conference_id)
        draft = conference.value.status is ConferenceStatus.DRAFT
        return _page(
            service,
            conference.value,
            claims.invitation_id,
            legal=request.app.state.legal,
            problem="Antworten sind noch nicht möglich."
            if draft
            else "Ihre Antwort kann nicht mehr geändert werden.",
            status_code=409,
        )
    # Post/redirect/get: a reload does not send the answer again.
    return RedirectResponse(f"/respond/{token}?saved=1", status_code=303, headers=PRIVATE_HEADERS)


def _claims(service: ConferenceService, token: str) -> LinkClaims | None:
    try:
        return service.links.verify(token, now=service.clock())
    except InvalidLink:
        return None


def _legal(legal: LegalSettings | None) -> dict[str, str | None]:
    """The operator's legal notices every public page links (unset: not linked; production
    refuses to start without them)."""
    imprint = None if legal is None else legal.imprint_url
    notice = None if legal is None else legal.privacy_notice_url
    return {
        "imprint_url": None if imprint is None else str(imprint),
        "privacy_notice_url": None if notice is None else str(notice),
    }


def _invalid(legal: LegalSettings | None = None) -> HTMLResponse:
    html = templates.get_template("invalid_link.html").render(**_legal(legal))
    return HTMLResponse(html, status_code=403, headers=PRIVATE_HEADERS)


def _page(
    service: ConferenceService,
    conference: Conference,
    invitation_id: str,
    *,
    saved: bool = False,
    problem: str | None = None,
    status_code: int = 200,
    legal: LegalSettings | None = None,
) -> HTMLResponse:
    invitation = conference.invitation(invitation_id)
    html = templates.get_template("respond.html").render(
        **_legal(legal),
        network_name=conference.network.name,
        title=conference.title,
        name=invitation.person.name,
        kind_label=KIND_LABELS[conference.kind],
        status=conference.status.value,
        cancel_reason=conference.cancel_reason,
        when=german_span(conference.starts_at, conference.ends_at),
        venue=conference.venue,
        online_url=conference.online_url,
        topic=conference.topic,
        agenda=conference.agenda,
        response=invitation.response.value,
        response_label=LABELS[invitation.response.value],
        waitlisted=invitation.waitlisted,
        waitlist_position=conference.waitlist_position(invitation),
        open=conference.open_for_answers(service.clock()),
        saved=saved,
        problem=problem,
        office_email=conference.organizer.email,
    )
    return HTMLResponse(html, status_code=status_code, headers=PRIVATE_HEADERS)
