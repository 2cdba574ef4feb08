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
from fastapi.responses import JSONResponse, Response
from pydantic import AnyHttpUrl, BaseModel

from conferences.adapters.links import InvalidLink, LinkClaims
from conferences.adapters.previews import PreviewUnavailable
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
    ConferenceStatus,
    Delegate,
    RecommendationDraft,
)
from conferences.entrypoints.schemas import (
    CancelIn,
    ConcludeIn,
    ConferenceIn,
    ConferenceOut,
    DelegateIn,
    InvitationAnswerOut,
    InvitationOut,
    NetworkViewOut,
    PreviewOut,
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
from rbn_shared.events.conferences import Response as Answer
from rbn_shared.events.conferences import StakeholderGroup, Venue
from rbn_shared.http import (
    MERGE_PATCH_JSON,
    PROBLEM_JSON,
    Problem,
    ProblemDocument,
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


def _explained(meanings: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """What some of its router's error answers mean on this route (FastAPI puts a route's
    answers over its router's, status by status)."""
    return {
        status: {"model": ProblemDocument, "description": meaning}
        for status, meaning in meanings.items()
    }


async def service_of(request: Request) -> ConferenceService:
    service: ConferenceService = request.app.state.service
    return service


Service = Annotated[ConferenceService, Depends(service_of)]


# ---------------------------------------------------------------------------- conferences


@conferences.post(
    "",
    status_code=201,
    summary="Schedule a conference, or prepare it as a draft",
    description=(
        "Without `draft` (or with `false`) the conference is published at once: every invitee "
        'gets the invitation. With `"draft": true` it is kept as a draft: nobody is told, no '
        "reminder is planned and its time blocks no other conference until it is published "
        "(`POST /conferences/{id}/publish`)."
    ),
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def schedule(body: ScheduleIn, service: Service, write: Writes) -> ConferenceOut:
    command = commands.ScheduleConference(
        actor=write.caller,
        cause=write.cause,
        network_id=body.network_id,
        draft=_conference_draft(body),
        publish=not body.draft,
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
        network_id=network_id,
        status=status,
        limit=limit,
        offset=offset,
        drafts_of=_drafts_seen_by(caller),
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
    conference = await service.get(conference_id)
    if conference.value.status is ConferenceStatus.DRAFT and not caller.can_write(
        conference.value.network.id
    ):
        raise NotFound(f"conference {conference_id}")  # a draft is its network's own business
    return read.answer(_shown(service, caller, conference))


@conference_changes.patch(
    "",
    summary="Edit a conference (a draft: everything; a published one: what the office may)",
    description=(
        "The body is a JSON merge patch (RFC 7386, `application/merge-patch+json`; "
        "`application/json` is accepted too) over `{title, kind, topic, starts_at, ends_at, "
        "venue, online_url, agenda, capacity, delegates}` (times in Europe/Berlin); the result "
        "is checked like a new conference. A draft changes freely and nobody is told. A "
        "published conference keeps its kind, times (use /reschedule) and delegates (use the "
        "invitation routes); a change of its title, topic, agenda, venue or online link sends "
        "every invitee an update with the calendar entry (same UID, higher SEQUENCE). A larger "
        "capacity moves the waiting list up; one below the accepted count is refused. A patch "
        "that changes nothing stores and sends nothing."
    ),
    responses=_explained(
        {
            409: "Version conflict (If-Match is stale), or the conference is no longer planned.",
            422: "The edited conference breaks a rule, or a field cannot change any more; "
            "`errors` names each field.",
        },
    ),
)
async def edit(
    conference_id: str,
    patch: Annotated[
        dict[str, Any],
        Body(
            media_type=MERGE_PATCH_JSON,
            description='Only the fields to change, e.g. {"title": "Bildungskonferenz 2027"}.',
            examples=[{"title": "Bildungskonferenz 2027", "capacity": 120}],
        ),
    ],
    service: Service,
    write: Writes,
) -> ConferenceOut:
    # As for a delegate's correction: the patch applies to the conference as the caller read
    # it, and the edit checks that version again under the conference's lock.
    current = await service.draft_to_edit(
        conference_id, actor=write.caller, expected_version=write.expected_version
    )
    edited = validated(ConferenceIn, merge_patch(_draft_fields(current), patch))
    change = commands.Edit(draft=_conference_draft(edited))
    return await _changed(service, write, conference_id, change)


@conference_changes.delete(
    "",
    status_code=204,
    summary="Discard a draft (a published conference is cancelled instead)",
    response_class=Response,
)
async def discard(conference_id: str, service: Service, write: Writes) -> Response:
    await service.discard(
        conference_id, actor=write.caller, expected_version=write.expected_version
    )
    return Response(status_code=204)


@conference_changes.post(
    "/publish",
    summary="Publish a draft: the invitations go out, the reminders are planned",
)
async def publish(conference_id: str, service: Service, write: Writes) -> ConferenceOut:
    return await _changed(service, write, conference_id, commands.Publish())


@conference_changes.get(
    "/preview",
    summary="One invitee's invitation as they will receive it (subject, text, HTML, .ics)",
    description=(
        "Rendered by the notifications service with the renderer of the real mail, from the "
        "event that publishing sends; nothing is sent or stored. For the network's office and "
        "the district coordination."
    ),
    responses={
        **problem_responses(401, 403, 404, 422),
        503: {
            "model": ProblemDocument,
            "description": "The notifications service, which renders the mail, did not answer.",
        },
    },
)
async def preview(
    conference_id: str,
    invitation_id: Annotated[str, Query(min_length=1, max_length=100)],
    service: Service,
    caller: Caller,
    request: Request,
) -> PreviewOut:
    event = await service.invitation_preview(conference_id, invitation_id, actor=caller)
    rendered = await service.previews.render(
        event, invitation_id, authorization=request.headers.get("Authorization")
    )
    if rendered.status != 200:
        raise PreviewUnavailable(
            f"the notifications service answered {rendered.status}: "
            f"{rendered.body.get('detail', rendered.body)}"
        )
    return PreviewOut.model_validate(rendered.body)


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


@invitations.delete(
    "/{invitation_id}",
    summary="Take an external delegate off the conference",
    description=(
        "A draft's delegate simply goes (nobody is told). On a published conference the "
        "invitation is withdrawn: the delegate gets a mail whose calendar entry (CANCEL, same "
        "UID, higher SEQUENCE) removes the conference from their calendar, their response link "
        "stops working, and a seat they held goes to the first on the waiting list. Answers the "
        "conference, like the other changes. Committee members and office staff are taken off "
        "in the registry; their invitations follow."
    ),
    responses=_explained(
        {
            404: "No such conference, or no such invitation (or it is already withdrawn).",
            409: (
                "Version conflict (If-Match is stale); the invitation belongs to a committee "
                "member or office staff member (take them off in the registry); or the "
                "conference is no longer planned."
            ),
            428: "If-Match is missing.",
        },
    ),
)
async def withdraw_invitation(
    conference_id: str, invitation_id: str, service: Service, write: Writes
) -> ConferenceOut:
    change = commands.WithdrawDelegate(invitation_id=invitation_id)
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

    for kind in (InvalidInput, Refused, NotFound, VersionConflict, InvalidLink, PreviewUnavailable):
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
        case PreviewUnavailable():
            return Problem(503, "Preview unavailable", str(error), kind="preview-unavailable")
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


def _drafts_seen_by(caller: Principal) -> list[str] | None:
    """Whose drafts a caller sees: the district all, an office its network's, others none."""
    if caller.can_write(None):
        return None
    return [caller.network_id] if caller.network_id and caller.can_write(caller.network_id) else []


def _conference_draft(body: ConferenceIn) -> ConferenceDraft:
    starts_at, ends_at = _utc_pair(body.starts_at, body.ends_at)
    return ConferenceDraft(
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


def _draft_fields(draft: ConferenceDraft) -> dict[str, Any]:
    """A conference as the JSON document an edit's merge patch applies to (unset: absent)."""
    fields: dict[str, Any] = {
        "title": draft.title,
        "kind": draft.kind.value,
        "topic": draft.topic,
        "starts_at": to_berlin(draft.starts_at).isoformat(),
        "ends_at": to_berlin(draft.ends_at).isoformat(),
        "venue": draft.venue.model_dump(mode="json") if draft.venue else None,
        "online_url": draft.online_url,
        "agenda": [{k: v for k, v in vars(a).items() if v is not None} for a in draft.agenda],
        "capacity": draft.capacity,
        "delegates": [_delegate_fields(d) for d in draft.delegates],
    }
    return {k: v for k, v in fields.items() if v is not None}


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
