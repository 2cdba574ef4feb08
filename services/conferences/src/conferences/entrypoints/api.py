"""The JSON API: conferences, invitations, answers, and the network projection (read only).

Conventions as in the registry: problem details for every error (each route documents the ones
it can answer), `ETag` with the version on reads and writes, `If-Match` required on every change
of an existing conference (a stale one gets 409 and changes nothing), bearer tokens with the
roles district / office:<network> / reader. A changing route takes `write: Writes`, builds the
use case's command (service_layer/commands.py) and answers `write.answer(...)`: the conference
with its new ETag. The use case checks the caller's role on the conference's network.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AnyHttpUrl, BaseModel

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
    CancelIn,
    ConcludeIn,
    ConferenceOut,
    DelegateIn,
    InvitationAnswerOut,
    InvitationOut,
    NetworkViewOut,
    RescheduleIn,
    ResponseIn,
    ScheduleIn,
    VenueIn,
)
from conferences.service_layer import commands
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
    field_error,
    found,
    merge_patch,
    problem_responses,
    validated,
)
from rbn_shared.paging import Limit, Offset, Page
from rbn_shared.writes import Reads, Versioned, Write, Writes

# The error answers of a change of an existing conference.
CHANGE_PROBLEMS = (400, 401, 403, 404, 409, 413, 422, 428)

# One router per part of the API: its path, its tag and, for the changes of a conference, the
# error answers every one of them can give, each said once.
conferences = APIRouter(prefix="/conferences", tags=["conferences"])
conference_changes = APIRouter(
    prefix="/conferences/{conference_id}",
    tags=["conferences"],
    responses=problem_responses(*CHANGE_PROBLEMS),
)
invitations = APIRouter(
    prefix="/conferences/{conference_id}/invitations",
    tags=["invitations"],
    responses=problem_responses(*CHANGE_PROBLEMS),
)
response_link = APIRouter(prefix="/responses/{token}", tags=["response link"])
networks = APIRouter(prefix="/networks", tags=["networks"])


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


@conferences.post(
    "",
    status_code=201,
    summary="Schedule a conference",
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def schedule(body: ScheduleIn, service: Service, write: Writes) -> ConferenceOut:
    starts_at, ends_at = _utc_pair(body.starts_at, body.ends_at)
    draft = ConferenceDraft(
        title=body.title,
        kind=body.kind,
        topic=body.topic,
        starts_at=starts_at,
        ends_at=ends_at,
        venue=_venue(body.venue),
        online_url=_url(body.online_url),
        agenda=tuple(
            AgendaDraft(a.title, a.description, a.field_of_action_id) for a in body.agenda
        ),
        capacity=body.capacity,
        delegates=tuple(_delegate(d) for d in body.delegates),
    )
    command = commands.ScheduleConference(
        actor=write.caller, cause=write.cause, network_id=body.network_id, draft=draft
    )
    scheduled = await service.schedule(command)
    location = f"/conferences/{scheduled.value.conference_id}"
    return write.answer(_shown(service, write.caller, scheduled), location=location)


@conferences.get(
    "", summary="List conferences, earliest first", responses=problem_responses(401, 422)
)
async def list_conferences(
    caller: Caller,
    service: Service,
    network_id: Annotated[str | None, Query(max_length=100)] = None,
    status: ConferenceStatus | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[ConferenceOut]:
    listed, total = await service.conferences.page(
        network_id=network_id, status=status, limit=limit, offset=offset
    )
    return Page(
        items=[_out(service, caller, s.conference, s.version) for s in listed],
        total=total,
        limit=limit,
        offset=offset,
    )


@conferences.get(
    "/{conference_id}", summary="One conference", responses=problem_responses(401, 404)
)
async def get_conference(
    conference_id: str, caller: Caller, service: Service, read: Reads
) -> ConferenceOut:
    return read.answer(_shown(service, caller, await service.get(conference_id)))


@conference_changes.post("/reschedule", summary="Move to a new time")
async def reschedule(
    conference_id: str, body: RescheduleIn, service: Service, write: Writes
) -> ConferenceOut:
    starts_at, ends_at = _utc_pair(body.starts_at, body.ends_at)
    change = commands.Reschedule(
        starts_at=starts_at,
        ends_at=ends_at,
        venue=_venue(body.venue),
        online_url=_url(body.online_url),
    )
    return await _changed(service, write, conference_id, change)


@conference_changes.post("/cancel", summary="Cancel")
async def cancel(
    conference_id: str, body: CancelIn, service: Service, write: Writes
) -> ConferenceOut:
    return await _changed(service, write, conference_id, commands.Cancel(reason=body.reason))


@conference_changes.post(
    "/conclude",
    summary="Record the results (after the end): summary and recommendations per field of action",
)
async def conclude(
    conference_id: str, body: ConcludeIn, service: Service, write: Writes
) -> ConferenceOut:
    recommendations = tuple(
        RecommendationDraft(r.field_of_action_id, r.text) for r in body.recommendations
    )
    change = commands.Conclude(summary=body.summary, recommendations=recommendations)
    return await _changed(service, write, conference_id, change)


# ---------------------------------------------------------------------------- invitations


@invitations.post("", status_code=201, summary="Invite an external delegate")
async def invite(
    conference_id: str, body: DelegateIn, service: Service, write: Writes
) -> ConferenceOut:
    change = commands.InviteDelegate(delegate=_delegate(body))
    return await _changed(service, write, conference_id, change)


@invitations.patch(
    "/{invitation_id}",
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
    service: Service,
    write: Writes,
) -> ConferenceOut:
    # The patch applies to the delegate as the caller read it; the correction checks that
    # version again under the conference's lock, so nothing changed in between is lost.
    current = await service.delegate_to_correct(
        conference_id, invitation_id, actor=write.caller, expected_version=write.expected_version
    )
    corrected = _delegate(validated(DelegateIn, merge_patch(_delegate_fields(current), patch)))
    change = commands.CorrectDelegate(invitation_id=invitation_id, delegate=corrected)
    return await _changed(service, write, conference_id, change)


@invitations.put(
    "/{invitation_id}/response", summary="Record an invitee's answer (e.g. given by phone)"
)
async def record_response(
    conference_id: str, invitation_id: str, body: ResponseIn, service: Service, write: Writes
) -> ConferenceOut:
    change = commands.RecordResponse(invitation_id=invitation_id, response=Answer(body.response))
    return await _changed(service, write, conference_id, change)


# ---------------------------------------------------------------------------- response link


@response_link.get(
    "",
    summary="What the holder of a personal response link sees (no login)",
    responses=problem_responses(403, 404),
)
async def get_answer(token: str, service: Service) -> InvitationAnswerOut:
    claims = _claims(service, token)
    conference = await service.get(claims.conference_id)
    return _answer_out(service, conference.value, claims.invitation_id)


@response_link.put(
    "",
    summary="Answer through a personal response link (no login)",
    responses=problem_responses(400, 403, 404, 409, 413, 422),
)
async def put_answer(
    token: str, body: ResponseIn, service: Service, request: Request
) -> InvitationAnswerOut:
    claims = _claims(service, token)
    answer = commands.RecordResponse(
        invitation_id=claims.invitation_id, response=Answer(body.response)
    )
    cause = Cause(correlation_id_of(request))
    answered = await service.answer_by_link(claims.conference_id, answer, cause)
    return _answer_out(service, answered.value, claims.invitation_id)


# ---------------------------------------------------------------------------- projection


@networks.get(
    "/{network_id}",
    summary="What this service knows of a network (projection of registry events)",
    responses=problem_responses(401, 404),
)
async def get_network(network_id: str, caller: Caller, service: Service) -> NetworkViewOut:
    view = found(await service.networks.get(network_id), f"network {network_id} is unknown here")
    # People's names: for the district and the network's own office only, as everywhere.
    people = caller.sees_personal_data(network_id)
    return NetworkViewOut(
        network_id=view.network_id,
        name=view.name,
        office_email=view.office_email,
        agreement_active=view.agreement_active,
        committee={k: p.name for k, p in view.committee_people().items()} if people else None,
        staff={k: p.name for k, p in view.staff_people().items()} if people else None,
        fields_of_action={k: v["status"] for k, v in view.fields.items()},
    )


router = APIRouter()
for part in (conferences, conference_changes, invitations, response_link, networks):
    router.include_router(part)


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


def _claims(service: ConferenceService, token: str) -> LinkClaims:
    return service.links.verify(token, now=service.clock())


async def _changed(
    service: ConferenceService, write: Write, conference_id: str, change: commands.Change
) -> ConferenceOut:
    """Run a caller's change of a conference (at the version they read) and answer with the
    conference and its new ETag."""
    command = commands.ChangeConference(
        actor=write.caller,
        cause=write.cause,
        conference_id=conference_id,
        expected_version=write.expected_version,
        change=change,
    )
    return write.answer(_shown(service, write.caller, await service.change(command)))


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


def _url(url: AnyHttpUrl | None) -> str | None:
    return str(url) if url else None


def _shown(
    service: ConferenceService, caller: Principal, conference: Versioned[Conference]
) -> Versioned[ConferenceOut]:
    """The conference as this caller sees it, at its version."""
    body = _out(service, caller, conference.value, conference.version)
    return Versioned(body, conference.version)


def _out(
    service: ConferenceService, caller: Principal, c: Conference, version: int
) -> ConferenceOut:
    """The conference as `caller` sees it: what the aggregate holds under the names the answer
    uses, as it is (venue, agenda, reminders and recommendations read by attribute), and what
    is derived for showing."""
    # Who is invited, how they answered, their personal links: for the network's people only.
    invitations = _invitations(service, c) if caller.sees_personal_data(c.network.id) else None
    shown = {
        **_same_named(c, ConferenceOut),
        "id": c.conference_id,
        "network_id": c.network.id,
        "network_name": c.network.name,
        "starts_at_local": to_berlin(c.starts_at),
        "ends_at_local": to_berlin(c.ends_at),
        "when": german_span(c.starts_at, c.ends_at),
        "counts": {**dict(c.counts()), "undeliverable": c.undeliverable_count()},
        "invitations": invitations,
        "version": version,
    }
    return ConferenceOut.model_validate(shown, from_attributes=True)


def _invitations(service: ConferenceService, c: Conference) -> list[dict[str, Any]]:
    return [
        {
            **_same_named(i, InvitationOut),
            "name": i.person.name,
            "email": str(i.person.email),
            "institution": i.person.organisation,
            "waitlist_position": c.waitlist_position(i),
            "response_url": service.links.url(
                c.conference_id, i.invitation_id, conference_ends_at=c.ends_at
            ),
        }
        for i in c.invitations
        if not i.withdrawn
    ]


def _same_named(source: object, answer: type[BaseModel]) -> dict[str, Any]:
    """`source`'s attributes that `answer` has a field of the same name for; entries given
    after these replace them (the aggregate's `counts()` is a method, the answer's a field)."""
    return {name: getattr(source, name) for name in answer.model_fields if hasattr(source, name)}


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
