"""The JSON API: conferences, invitations, answers, and the network projection (read only).

Conventions as in the registry: problem details for every error (each route documents the ones
it can answer), `ETag` with the version on reads and writes, `If-Match` required on every change
of an existing conference (a stale one gets 409 and changes nothing), bearer tokens with the
roles district / office:<network> / reader. Every change of an existing conference goes through
`_change`: may the caller change it, If-Match, the use case, the answer with its ETag.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse

from conferences.adapters.links import InvalidLink, LinkClaims
from conferences.domain.errors import InvalidInput, NotFound, Refused
from conferences.domain.local_time import (
    NonexistentLocalTime,
    berlin_to_utc,
    german_span,
    to_berlin,
)
from conferences.domain.model import (
    AgendaDraft,
    Conference,
    ConferenceDraft,
    Delegate,
    RecommendationDraft,
)
from conferences.entrypoints.schemas import (
    AgendaItemOut,
    CancelIn,
    ConcludeIn,
    ConferenceOut,
    CountsOut,
    DelegateIn,
    DeliveryProblemOut,
    InvitationAnswerOut,
    InvitationOut,
    NetworkViewOut,
    RecommendationOut,
    ReminderOut,
    RescheduleIn,
    ResponseIn,
    ScheduleIn,
    VenueIn,
)
from conferences.service_layer.services import ConferenceService
from rbn_shared.auth import Caller, Principal
from rbn_shared.changes import Cause
from rbn_shared.errors import VersionConflict
from rbn_shared.events.conferences import ConferenceStatus, StakeholderGroup, Venue
from rbn_shared.events.conferences import Response as Answer
from rbn_shared.http import (
    MERGE_PATCH_JSON,
    PROBLEM_JSON,
    Problem,
    correlation_id_of,
    etag,
    field_error,
    merge_patch,
    problem_responses,
    validated,
    version_from_if_match,
)

router = APIRouter()

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag of the version you read, e.g. "3". Required on every change.',
    ),
]


# The error answers of a change of an existing conference (see `_change`).
CHANGE_PROBLEMS = (400, 401, 403, 404, 409, 413, 422, 428)


def _explained(
    responses: dict[int | str, dict[str, Any]], meanings: Mapping[int, str]
) -> dict[int | str, dict[str, Any]]:
    """`problem_responses(...)` with what some of the answers mean on this route."""
    return {
        status: {**entry, "description": meanings.get(int(status), entry["description"])}
        for status, entry in responses.items()
    }


def service_of(request: Request) -> ConferenceService:
    service: ConferenceService = request.app.state.service
    return service


Service = Annotated[ConferenceService, Depends(service_of)]


# ---------------------------------------------------------------------------- conferences


@router.post(
    "/conferences",
    status_code=201,
    tags=["conferences"],
    summary="Schedule a conference",
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def schedule(
    body: ScheduleIn, caller: Caller, service: Service, request: Request
) -> JSONResponse:
    caller.require_write(body.network_id)
    starts_at, ends_at = _utc_pair(body.starts_at, body.ends_at)
    draft = ConferenceDraft(
        title=body.title,
        kind=body.kind,
        topic=body.topic,
        starts_at=starts_at,
        ends_at=ends_at,
        venue=_venue(body.venue),
        online_url=str(body.online_url) if body.online_url else None,
        agenda=tuple(
            AgendaDraft(a.title, a.description, a.field_of_action_id) for a in body.agenda
        ),
        capacity=body.capacity,
        delegates=tuple(_delegate(d) for d in body.delegates),
    )
    conference, version = await service.schedule(body.network_id, draft, _cause(request))
    return _conference_response(
        service,
        caller,
        conference,
        version,
        201,
        location=f"/conferences/{conference.conference_id}",
    )


@router.get(
    "/conferences",
    tags=["conferences"],
    summary="List conferences",
    responses=problem_responses(401, 422),
)
async def list_conferences(
    caller: Caller,
    service: Service,
    network_id: Annotated[str | None, Query(max_length=100)] = None,
    status: ConferenceStatus | None = None,
    limit: Annotated[
        int, Query(ge=1, le=500, description="At most this many, earliest first")
    ] = 100,
) -> list[ConferenceOut]:
    if network_id is not None:
        found = await service.conferences.of_network(network_id, status=status, limit=limit)
    else:
        found = await service.conferences.all(status=status, limit=limit)
    return [_out(service, caller, s.conference, s.version) for s in found]


@router.get(
    "/conferences/{conference_id}",
    tags=["conferences"],
    summary="One conference",
    responses=problem_responses(401, 404),
)
async def get_conference(conference_id: str, caller: Caller, service: Service) -> JSONResponse:
    conference, version = await service.get(conference_id)
    return _conference_response(service, caller, conference, version)


@router.post(
    "/conferences/{conference_id}/reschedule",
    tags=["conferences"],
    summary="Move to a new time",
    responses=problem_responses(*CHANGE_PROBLEMS),
)
async def reschedule(
    conference_id: str,
    body: RescheduleIn,
    caller: Caller,
    service: Service,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:

    async def reschedule_at(expected: int) -> tuple[Conference, int]:
        starts_at, ends_at = _utc_pair(body.starts_at, body.ends_at)
        return await service.reschedule(
            conference_id,
            expected,
            starts_at,
            ends_at,
            _cause(request),
            venue=_venue(body.venue),
            online_url=str(body.online_url) if body.online_url else None,
        )

    return await _change(service, caller, conference_id, if_match, reschedule_at)


@router.post(
    "/conferences/{conference_id}/cancel",
    tags=["conferences"],
    summary="Cancel",
    responses=problem_responses(*CHANGE_PROBLEMS),
)
async def cancel(
    conference_id: str,
    body: CancelIn,
    caller: Caller,
    service: Service,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _change(
        service,
        caller,
        conference_id,
        if_match,
        lambda expected: service.cancel(conference_id, expected, body.reason, _cause(request)),
    )


@router.post(
    "/conferences/{conference_id}/conclude",
    tags=["conferences"],
    summary="Record the results (after the end): summary and recommendations per field of action",
    responses=problem_responses(*CHANGE_PROBLEMS),
)
async def conclude(
    conference_id: str,
    body: ConcludeIn,
    caller: Caller,
    service: Service,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:
    recommendations = [
        RecommendationDraft(r.field_of_action_id, r.text) for r in body.recommendations
    ]
    return await _change(
        service,
        caller,
        conference_id,
        if_match,
        lambda expected: service.conclude(
            conference_id, expected, body.summary, recommendations, _cause(request)
        ),
    )


# ---------------------------------------------------------------------------- invitations


@router.post(
    "/conferences/{conference_id}/invitations",
    status_code=201,
    tags=["invitations"],
    summary="Invite an external delegate",
    responses=problem_responses(*CHANGE_PROBLEMS),
)
async def invite(
    conference_id: str,
    body: DelegateIn,
    caller: Caller,
    service: Service,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _change(
        service,
        caller,
        conference_id,
        if_match,
        lambda expected: service.invite(conference_id, expected, _delegate(body), _cause(request)),
        status_code=201,
    )


@router.patch(
    "/conferences/{conference_id}/invitations/{invitation_id}",
    tags=["invitations"],
    summary="Correct an external delegate's invitation (name, address, institution, group)",
    description=(
        "The body is a JSON merge patch (RFC 7386, `application/merge-patch+json`; "
        "`application/json` is accepted too) over `{name, email, institution, group}`; `null` "
        "removes the institution. The result is checked like a new delegate. A new address gets "
        "the invitation again, once (and clears the undeliverable mark); other corrections are "
        "stored and send nothing. Committee members and office staff are changed in the "
        "registry; their invitations follow."
    ),
    responses=_explained(
        problem_responses(*CHANGE_PROBLEMS),
        {
            400: "Malformed JSON (with line and column), or a malformed If-Match.",
            401: "No valid bearer token.",
            403: "The caller may not change this network's conferences.",
            404: "No such conference or invitation.",
            409: (
                "Version conflict (If-Match is stale); the invitation belongs to a committee "
                "member or office staff member (change it in the registry); the address is "
                "already invited; or the conference is no longer planned."
            ),
            413: "The body is larger than the limit.",
            422: "The corrected delegate breaks a rule; `errors` names each field.",
            428: "If-Match is missing.",
        },
    ),
)
async def change_invitation(
    conference_id: str,
    invitation_id: str,
    patch: Annotated[
        dict[str, Any],
        Body(
            media_type=MERGE_PATCH_JSON,
            description='Only the fields to change, e.g. {"email": "anna@schule.de"}.',
            examples=[{"email": "dora.yilmaz@gesamtschule.example.org"}],
        ),
    ],
    caller: Caller,
    service: Service,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:

    def corrected(current: Delegate) -> Delegate:
        merged = merge_patch(_delegate_fields(current), patch)
        return _delegate(validated(DelegateIn, merged))

    return await _change(
        service,
        caller,
        conference_id,
        if_match,
        lambda expected: service.change_delegate(
            conference_id, expected, invitation_id, corrected, _cause(request)
        ),
    )


@router.put(
    "/conferences/{conference_id}/invitations/{invitation_id}/response",
    tags=["invitations"],
    summary="Record an invitee's answer (e.g. given by phone)",
    responses=problem_responses(*CHANGE_PROBLEMS),
)
async def record_response(
    conference_id: str,
    invitation_id: str,
    body: ResponseIn,
    caller: Caller,
    service: Service,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _change(
        service,
        caller,
        conference_id,
        if_match,
        lambda expected: service.respond(
            conference_id,
            invitation_id,
            Answer(body.response),
            _cause(request),
            expected_version=expected,
        ),
    )


# ---------------------------------------------------------------------------- response link


@router.get(
    "/responses/{token}",
    tags=["response link"],
    summary="What the holder of a personal response link sees (no login)",
    responses=problem_responses(403, 404),
)
async def get_answer(token: str, service: Service) -> InvitationAnswerOut:
    claims = _claims(service, token)
    conference, _ = await service.get(claims.conference_id)
    return _answer_out(service, conference, claims.invitation_id)


@router.put(
    "/responses/{token}",
    tags=["response link"],
    summary="Answer through a personal response link (no login)",
    responses=problem_responses(400, 403, 404, 409, 413, 422),
)
async def put_answer(
    token: str, body: ResponseIn, service: Service, request: Request
) -> InvitationAnswerOut:
    claims = _claims(service, token)
    conference, _ = await service.respond(
        claims.conference_id, claims.invitation_id, Answer(body.response), _cause(request)
    )
    return _answer_out(service, conference, claims.invitation_id)


# ---------------------------------------------------------------------------- projection


@router.get(
    "/networks/{network_id}",
    tags=["networks"],
    summary="What this service knows of a network (projection of registry events)",
    responses=problem_responses(401, 404),
)
async def get_network(network_id: str, caller: Caller, service: Service) -> NetworkViewOut:
    view = await service.networks.get(network_id)
    if view is None:
        raise Problem(404, "Not found", f"network {network_id} is unknown here", kind="not-found")
    return NetworkViewOut(
        network_id=view.network_id,
        name=view.name,
        office_email=view.office_email,
        agreement_active=view.agreement_active,
        committee={k: p.name for k, p in view.committee_people().items()},
        staff={k: p.name for k, p in view.staff_people().items()},
        fields_of_action={k: v["status"] for k, v in view.fields.items()},
    )


# ---------------------------------------------------------------------------- errors


def install_domain_error_handlers(app: FastAPI) -> None:
    """Rules refused, stale versions, bad links: problem documents, nothing stored."""

    async def to_problem(request: Request, error: Exception) -> JSONResponse:
        problem = problem_of(error)
        return JSONResponse(
            problem.body(instance=request.url.path),
            status_code=problem.status,
            media_type=PROBLEM_JSON,
            headers=problem.headers,
        )

    for kind in (InvalidInput, Refused, NotFound, VersionConflict, InvalidLink):
        app.add_exception_handler(kind, to_problem)


def problem_of(error: Exception) -> Problem:
    match error:
        case InvalidInput():
            return Problem(
                422,
                "Invalid input",
                "Some fields break the rules.",
                errors=[field_error(f, r) for f, r in error.errors],
                kind="invalid-input",
            )
        case Refused():
            return Problem(409, error.title, error.detail, kind=error.kind)
        case NotFound():
            return Problem(404, "Not found", f"{error.what} does not exist.", kind="not-found")
        case VersionConflict():
            return Problem(
                409,
                "Version conflict",
                "The conference changed since you read it; read it again and retry. " + str(error),
                kind="version-conflict",
            )
        case InvalidLink():
            return Problem(403, "Forbidden", str(error), kind="invalid-link")
    return Problem(500, "Internal error")


# ---------------------------------------------------------------------------- helpers


def _cause(request: Request) -> Cause:
    return Cause(correlation_id=correlation_id_of(request))


def _claims(service: ConferenceService, token: str) -> LinkClaims:
    return service.links.verify(token, now=service.clock())


async def _change(
    service: ConferenceService,
    caller: Principal,
    conference_id: str,
    if_match: str | None,
    use_case: Callable[[int], Awaitable[tuple[Conference, int]]],
    *,
    status_code: int = 200,
) -> JSONResponse:
    """The one way a route changes an existing conference: the caller must be allowed to change
    its network (404 if there is none, 403), If-Match names the version read (428, 400), the use
    case runs against that version, and the answer is the conference with its new ETag."""
    conference, _ = await service.get(conference_id)
    caller.require_write(conference.network.id)
    expected = version_from_if_match(if_match)
    changed, version = await use_case(expected)
    return _conference_response(service, caller, changed, version, status_code)


def _utc_pair(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    errors = []
    converted = []
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        try:
            converted.append(berlin_to_utc(value))
        except NonexistentLocalTime as error:
            errors.append((name, str(error)))
    if errors:
        raise InvalidInput(errors)
    return converted[0], converted[1]


def _venue(venue: VenueIn | None) -> Venue | None:
    return None if venue is None else Venue(name=venue.name, address=venue.address)


def _delegate(body: DelegateIn) -> Delegate:
    return Delegate(
        name=body.name,
        email=str(body.email),
        institution=body.institution,
        group=StakeholderGroup(body.group),
    )


def _delegate_fields(delegate: Delegate) -> dict[str, Any]:
    """A delegate as the JSON document a merge patch applies to (absent, not null, if unset)."""
    fields = {
        "name": delegate.name,
        "email": delegate.email,
        "institution": delegate.institution,
        "group": delegate.group.value,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _conference_response(
    service: ConferenceService,
    caller: Principal,
    conference: Conference,
    version: int,
    status_code: int = 200,
    *,
    location: str | None = None,
) -> JSONResponse:
    headers = {"ETag": etag(version)}
    if location:
        headers["Location"] = location
    body = _out(service, caller, conference, version)
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)


def _out(
    service: ConferenceService, caller: Principal, c: Conference, version: int
) -> ConferenceOut:
    now = service.clock()
    show_links = caller.can_write(c.network.id)
    counts = c.counts()
    return ConferenceOut(
        id=c.conference_id,
        network_id=c.network.id,
        network_name=c.network.name,
        title=c.title,
        kind=c.kind,
        topic=c.topic,
        status=c.status,
        starts_at=c.starts_at,
        ends_at=c.ends_at,
        starts_at_local=to_berlin(c.starts_at),
        ends_at_local=to_berlin(c.ends_at),
        when=german_span(c.starts_at, c.ends_at),
        venue=VenueIn(name=c.venue.name, address=c.venue.address) if c.venue else None,
        online_url=c.online_url,
        agenda=[AgendaItemOut.model_validate(a.model_dump()) for a in c.agenda],
        capacity=c.capacity,
        sequence=c.sequence,
        counts=CountsOut(**counts.model_dump(), undeliverable=c.undeliverable_count()),
        invitations=[
            InvitationOut(
                invitation_id=i.invitation_id,
                name=i.person.name,
                email=str(i.person.email),
                institution=i.person.organisation,
                group=i.group,
                source=i.source,
                response=i.response.value,
                waitlisted=i.waitlisted,
                waitlist_position=c.waitlist_position(i),
                undeliverable=i.undeliverable,
                delivery_problem=(
                    DeliveryProblemOut(
                        reason=i.delivery_problem.reason,
                        failed_at=i.delivery_problem.failed_at,
                        address=i.delivery_problem.address,
                    )
                    if i.delivery_problem
                    else None
                ),
                response_url=(
                    service.links.url(c.conference_id, i.invitation_id, now=now)
                    if show_links
                    else None
                ),
            )
            for i in c.invitations
            if not i.withdrawn
        ],
        reminders=[
            ReminderOut(offset_seconds=r.offset_seconds, due_at=r.due_at, state=r.state)
            for r in c.reminders
        ],
        cancel_reason=c.cancel_reason,
        summary=c.summary,
        recommendations=[
            RecommendationOut.model_validate(r.model_dump()) for r in c.recommendations
        ],
        version=version,
    )


def _answer_out(
    service: ConferenceService, conference: Conference, invitation_id: str
) -> InvitationAnswerOut:
    invitation = conference.invitation(invitation_id)
    return InvitationAnswerOut(
        conference_id=conference.conference_id,
        title=conference.title,
        when=german_span(conference.starts_at, conference.ends_at),
        status=conference.status,
        invitation_id=invitation.invitation_id,
        name=invitation.person.name,
        response=invitation.response.value,
        waitlisted=invitation.waitlisted,
        waitlist_position=conference.waitlist_position(invitation),
        open_for_answers=conference.open_for_answers(service.clock()),
    )
