"""The registry's HTTP API. Thin: parse, authorize, call the named use case, shape the answer.

Versions travel as ETags: every entity answers with `ETag: "<version>"`, and every change of an
existing entity needs `If-Match` with the version it was read at (a stale one gets 409). A
network's own ETag is the version of the network itself (name, municipality, office contact);
its parts' entities carry their own.

A PATCH body is a JSON merge patch (RFC 7386) of the entity: the route merges it into what the
entity is now and validates the result with the same schema as a new one, so the domain always
gets complete values and a null can clear an optional member.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rbn_shared.auth import Caller, Principal
from rbn_shared.changes import Cause
from rbn_shared.errors import VersionConflict
from rbn_shared.events.base import MunicipalityKind, Side
from rbn_shared.events.registry import CommitteeRole, FieldStatus
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
from rbn_shared.text import Line
from registry.domain.district import Bulletin, DistrictCoordination
from registry.domain.errors import Conflict, DomainError, NotFound, RuleViolation
from registry.domain.model import (
    Agreement,
    CommitteeMember,
    Entity,
    FieldOfAction,
    OfficeStaff,
    WholeNetwork,
)
from registry.entrypoints.schemas import (
    AgreementCreate,
    AgreementTermination,
    BulletinCreate,
    DistrictPut,
    FieldAdoption,
    FieldClosure,
    FieldCreate,
    MemberCreate,
    MemberRemoval,
    NetworkChange,
    NetworkCreate,
    Page,
    StaffCreate,
    StaffRemoval,
    Strict,
    editable,
)
from registry.service_layer.services import RegistryService

T = TypeVar("T")
EntityT = TypeVar("EntityT", bound=Entity)
SchemaT = TypeVar("SchemaT", bound=Strict)

Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip")]
IfMatch = Annotated[str | None, Header(description='The version read, e.g. "3"')]

# The error answers of each kind of route (400: malformed JSON or If-Match; 413: body too big).
READ = problem_responses(401, 404)
LIST = problem_responses(401, 404, 422)
CREATE = problem_responses(400, 401, 403, 404, 409, 413, 422)
CHANGE = problem_responses(400, 401, 403, 404, 409, 413, 422, 428)


def get_service(request: Request) -> RegistryService:
    service: RegistryService = request.app.state.service
    return service


Service = Annotated[RegistryService, Depends(get_service)]


def as_problem(error: DomainError) -> Problem:
    errors = [field_error(error.field, error.message)] if error.field else []
    if isinstance(error, NotFound):
        return Problem(404, "Not found", error.message, kind="not-found")
    if isinstance(error, Conflict):
        return Problem(409, "Conflict", error.message, errors=errors, kind="conflict")
    if isinstance(error, RuleViolation):
        return Problem(422, "Rule violated", error.message, errors=errors, kind="rule-violated")
    return Problem(400, "Bad request", error.message, errors=errors)


def version_conflict(error: VersionConflict) -> Problem:
    return Problem(
        409, "Version conflict", f"{error}; read it again and retry.", kind="version-conflict"
    )


def install_domain_errors(app: FastAPI) -> None:
    async def on_domain_error(request: Request, error: Exception) -> Response:
        if isinstance(error, VersionConflict):
            problem = version_conflict(error)
        else:
            assert isinstance(error, DomainError)  # noqa: S101 - registered for these only
            problem = as_problem(error)
        return JSONResponse(
            problem.body(instance=request.url.path),
            status_code=problem.status,
            media_type=PROBLEM_JSON,
        )

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(VersionConflict, on_domain_error)


def page(items: Sequence[T], limit: int, offset: int) -> Page[T]:
    return Page(
        items=list(items[offset : offset + limit]), total=len(items), limit=limit, offset=offset
    )


def entity(response: Response, value: T, version: int) -> T:
    response.headers["ETag"] = etag(version)
    return value


@dataclass
class Write:
    """How every route changes a part of a network: may the caller write to the network → the
    If-Match version (for something that exists) → the use case → the answer with its ETag."""

    caller: Principal
    response: Response
    cause: Cause

    async def create(
        self, network_id: str, location: str, use_case: Callable[[], Awaitable[EntityT]]
    ) -> EntityT:
        """Add something to the network; answers with its ETag and its Location under
        `location`."""
        self.caller.require_write(network_id)
        created = await use_case()
        self.response.headers["Location"] = f"{location}/{created.id}"
        return entity(self.response, created, created.version)

    async def change(
        self,
        network_id: str,
        if_match: str | None,
        use_case: Callable[[int], Awaitable[EntityT]],
    ) -> EntityT:
        """Change something at the version the caller read (`use_case` gets that version)."""
        self.caller.require_write(network_id)
        changed = await use_case(version_from_if_match(if_match))
        return entity(self.response, changed, changed.version)


def write(caller: Caller, request: Request, response: Response) -> Write:
    return Write(caller, response, Cause(correlation_id_of(request)))


Writes = Annotated[Write, Depends(write)]


def merge_patch_body(schema: type[Strict], example: dict[str, Any]) -> Any:
    """A PATCH body: a JSON merge patch of `schema`; application/json is taken as well."""
    return Body(
        media_type=MERGE_PATCH_JSON,
        description=(
            f"A JSON merge patch (RFC 7386) of the {schema.__name__} form: members left out stay "
            "as they are, null removes an optional member, objects merge member by member."
        ),
        openapi_examples={"change one member": {"value": example}},
    )


def patched(schema: type[SchemaT], current: BaseModel, patch: dict[str, Any]) -> SchemaT:
    """`current` with the merge patch applied, as `schema` accepts it (422 naming the fields)."""
    return validated(schema, merge_patch(editable(schema, current), patch))


router = APIRouter()


# ---------------------------------------------------------------------------- networks


@router.get(
    "/networks",
    tags=["networks"],
    summary="List the networks",
    responses=problem_responses(401, 422),
)
async def list_networks(
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    kind: MunicipalityKind | None = None,
    name: Annotated[Line | None, Query(description="Part of the name")] = None,
) -> Page[WholeNetwork]:
    items, total = await service.search_networks(
        kind=kind.value if kind else None, name_contains=name, limit=limit, offset=offset
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/networks",
    tags=["networks"],
    status_code=status.HTTP_201_CREATED,
    summary="Register a network (district coordination only)",
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def register_network(body: NetworkCreate, service: Service, write: Writes) -> WholeNetwork:
    write.caller.require_district()
    registered = await service.register_network(
        body.id,
        body.name,
        body.municipality.to_municipality(),
        body.office.to_office(),
        cause=write.cause,
    )
    write.response.headers["Location"] = f"/networks/{body.id}"
    return entity(write.response, registered.value, registered.version)


@router.get(
    "/networks/{network_id}",
    tags=["networks"],
    summary="One network with all it holds",
    description="The ETag is the version of the network itself: its name and contacts.",
    responses=READ,
)
async def get_network(
    network_id: str, caller: Caller, service: Service, response: Response
) -> WholeNetwork:
    found = await service.network(network_id)
    return entity(response, found.value, found.version)


@router.patch(
    "/networks/{network_id}",
    tags=["networks"],
    summary="Change name or contacts",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 428),
)
async def update_network(
    network_id: str,
    patch: Annotated[
        dict[str, Any], merge_patch_body(NetworkChange, {"office": {"phone": "0231 50-0"}})
    ],
    service: Service,
    write: Writes,
    if_match: IfMatch = None,
) -> WholeNetwork:
    write.caller.require_write(network_id)
    expected = version_from_if_match(if_match)
    current = await service.network(network_id)
    if expected != current.version:
        raise VersionConflict(
            f"network {network_id} is at version {current.version}, not {expected}"
        )
    body = patched(NetworkChange, current.value, patch)
    # The use case checks the version again under the network's lock: nothing in between is lost.
    changed = await service.update_network(
        network_id,
        expected,
        name=body.name,
        municipality=body.municipality.to_municipality(),
        office=body.office.to_office(),
        cause=write.cause,
    )
    return entity(write.response, changed.value, changed.version)


# ---------------------------------------------------------------------------- agreements


@router.get("/networks/{network_id}/agreements", tags=["cooperation agreements"], responses=LIST)
async def list_agreements(
    network_id: str, caller: Caller, service: Service, limit: Limit = 20, offset: Offset = 0
) -> Page[Agreement]:
    return page((await service.agreements(network_id)).agreements, limit, offset)


@router.post(
    "/networks/{network_id}/agreements",
    tags=["cooperation agreements"],
    status_code=status.HTTP_201_CREATED,
    summary="Record a signed cooperation agreement",
    responses=CREATE,
)
async def sign_agreement(
    network_id: str, body: AgreementCreate, service: Service, write: Writes
) -> Agreement:
    return await write.create(
        network_id,
        f"/networks/{network_id}/agreements",
        lambda: service.sign_agreement(
            network_id, body.signed_on, body.valid_from, cause=write.cause
        ),
    )


@router.post(
    "/networks/{network_id}/agreements/{agreement_id}/termination",
    tags=["cooperation agreements"],
    summary="Terminate the agreement",
    responses=CHANGE,
)
async def terminate_agreement(
    network_id: str,
    agreement_id: str,
    body: AgreementTermination,
    service: Service,
    write: Writes,
    if_match: IfMatch = None,
) -> Agreement:
    return await write.change(
        network_id,
        if_match,
        lambda expected: service.terminate_agreement(
            network_id, agreement_id, expected, body.terminated_on, body.reason, cause=write.cause
        ),
    )


# ---------------------------------------------------------------------------- steering committee


@router.get("/networks/{network_id}/committee/members", tags=["steering committee"], responses=LIST)
async def list_members(
    network_id: str,
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    side: Side | None = None,
    role: CommitteeRole | None = None,
    include_removed: bool = False,
) -> Page[CommitteeMember]:
    members = [
        m
        for m in (await service.committee(network_id)).members
        if (include_removed or m.active) and side in (None, m.side) and role in (None, m.role)
    ]
    return page(members, limit, offset)


@router.post(
    "/networks/{network_id}/committee/members",
    tags=["steering committee"],
    status_code=status.HTTP_201_CREATED,
    summary="Add a member",
    responses=CREATE,
)
async def add_member(
    network_id: str, body: MemberCreate, service: Service, write: Writes
) -> CommitteeMember:
    return await write.create(
        network_id,
        f"/networks/{network_id}/committee/members",
        lambda: service.add_member(
            network_id,
            body.person.to_person(),
            body.side,
            body.role,
            body.term_start,
            body.term_end,
            body.supervision,
            cause=write.cause,
        ),
    )


@router.get(
    "/networks/{network_id}/committee/members/{member_id}",
    tags=["steering committee"],
    responses=READ,
)
async def get_member(
    network_id: str, member_id: str, caller: Caller, service: Service, response: Response
) -> CommitteeMember:
    member = (await service.committee(network_id)).member(member_id)
    return entity(response, member, member.version)


@router.patch(
    "/networks/{network_id}/committee/members/{member_id}",
    tags=["steering committee"],
    responses=CHANGE,
)
async def update_member(
    network_id: str,
    member_id: str,
    patch: Annotated[
        dict[str, Any], merge_patch_body(MemberCreate, {"person": {"function": "Schulleiterin"}})
    ],
    service: Service,
    write: Writes,
    if_match: IfMatch = None,
) -> CommitteeMember:
    async def update(expected: int) -> CommitteeMember:
        member = (await service.committee(network_id)).member(member_id)
        member.check_version(expected)
        body = patched(MemberCreate, member, patch)
        # The use case checks the version again under the lock: nothing in between is lost.
        return await service.update_member(
            network_id,
            member_id,
            expected,
            person=body.person.to_person(),
            side=body.side,
            role=body.role,
            supervision=body.supervision,
            term_start=body.term_start,
            term_end=body.term_end,
            cause=write.cause,
        )

    return await write.change(network_id, if_match, update)


@router.post(
    "/networks/{network_id}/committee/members/{member_id}/removal",
    tags=["steering committee"],
    summary="Remove a member, with the reason",
    responses=CHANGE,
)
async def remove_member(
    network_id: str,
    member_id: str,
    body: MemberRemoval,
    service: Service,
    write: Writes,
    if_match: IfMatch = None,
) -> CommitteeMember:
    return await write.change(
        network_id,
        if_match,
        lambda expected: service.remove_member(
            network_id, member_id, expected, body.removed_on, body.reason, cause=write.cause
        ),
    )


# ---------------------------------------------------------------------------- education office


@router.get("/networks/{network_id}/office/staff", tags=["education office"], responses=LIST)
async def list_staff(
    network_id: str,
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    include_former: bool = False,
) -> Page[OfficeStaff]:
    staff = (await service.office(network_id)).staff
    return page([s for s in staff if include_former or s.active], limit, offset)


@router.post(
    "/networks/{network_id}/office/staff",
    tags=["education office"],
    status_code=status.HTTP_201_CREATED,
    summary="Assign a staff member",
    responses=CREATE,
)
async def assign_staff(
    network_id: str, body: StaffCreate, service: Service, write: Writes
) -> OfficeStaff:
    return await write.create(
        network_id,
        f"/networks/{network_id}/office/staff",
        lambda: service.assign_staff(
            network_id,
            body.person.to_person(),
            body.employer,
            body.start_date,
            body.end_date,
            body.released_from_school,
            body.hours_share,
            cause=write.cause,
        ),
    )


@router.get(
    "/networks/{network_id}/office/staff/{staff_id}", tags=["education office"], responses=READ
)
async def get_staff(
    network_id: str, staff_id: str, caller: Caller, service: Service, response: Response
) -> OfficeStaff:
    staff = (await service.office(network_id)).member(staff_id)
    return entity(response, staff, staff.version)


@router.post(
    "/networks/{network_id}/office/staff/{staff_id}/removal",
    tags=["education office"],
    summary="A staff member leaves the office",
    responses=CHANGE,
)
async def remove_staff(
    network_id: str,
    staff_id: str,
    body: StaffRemoval,
    service: Service,
    write: Writes,
    if_match: IfMatch = None,
) -> OfficeStaff:
    return await write.change(
        network_id,
        if_match,
        lambda expected: service.remove_staff(
            network_id, staff_id, expected, body.end_date, body.reason, cause=write.cause
        ),
    )


# ---------------------------------------------------------------------------- fields of action


@router.get("/networks/{network_id}/fields-of-action", tags=["fields of action"], responses=LIST)
async def list_fields(
    network_id: str,
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    status_is: Annotated[FieldStatus | None, Query(alias="status")] = None,
) -> Page[FieldOfAction]:
    fields = (await service.fields_of_action(network_id)).fields
    return page([f for f in fields if status_is in (None, f.status)], limit, offset)


@router.post(
    "/networks/{network_id}/fields-of-action",
    tags=["fields of action"],
    status_code=status.HTTP_201_CREATED,
    summary="Propose a field of action",
    responses=CREATE,
)
async def propose_field(
    network_id: str, body: FieldCreate, service: Service, write: Writes
) -> FieldOfAction:
    return await write.create(
        network_id,
        f"/networks/{network_id}/fields-of-action",
        lambda: service.propose_field(
            network_id,
            body.title,
            body.starting_situation,
            body.development_needs,
            cause=write.cause,
        ),
    )


@router.get(
    "/networks/{network_id}/fields-of-action/{field_id}", tags=["fields of action"], responses=READ
)
async def get_field(
    network_id: str, field_id: str, caller: Caller, service: Service, response: Response
) -> FieldOfAction:
    field = (await service.fields_of_action(network_id)).field(field_id)
    return entity(response, field, field.version)


@router.patch(
    "/networks/{network_id}/fields-of-action/{field_id}",
    tags=["fields of action"],
    responses=CHANGE,
)
async def update_field(
    network_id: str,
    field_id: str,
    patch: Annotated[
        dict[str, Any], merge_patch_body(FieldCreate, {"development_needs": "Mehr Beratung"})
    ],
    service: Service,
    write: Writes,
    if_match: IfMatch = None,
) -> FieldOfAction:
    async def update(expected: int) -> FieldOfAction:
        field = (await service.fields_of_action(network_id)).field(field_id)
        field.check_version(expected)
        body = patched(FieldCreate, field, patch)
        return await service.update_field(
            network_id,
            field_id,
            expected,
            title=body.title,
            starting_situation=body.starting_situation,
            development_needs=body.development_needs,
            cause=write.cause,
        )

    return await write.change(network_id, if_match, update)


@router.post(
    "/networks/{network_id}/fields-of-action/{field_id}/adoption",
    tags=["fields of action"],
    summary="The steering committee adopted it",
    responses=CHANGE,
)
async def adopt_field(
    network_id: str,
    field_id: str,
    body: FieldAdoption,
    service: Service,
    write: Writes,
    if_match: IfMatch = None,
) -> FieldOfAction:
    return await write.change(
        network_id,
        if_match,
        lambda expected: service.adopt_field(
            network_id, field_id, expected, body.adopted_on, cause=write.cause
        ),
    )


@router.post(
    "/networks/{network_id}/fields-of-action/{field_id}/closure",
    tags=["fields of action"],
    summary="Close an adopted field of action",
    responses=CHANGE,
)
async def close_field(
    network_id: str,
    field_id: str,
    body: FieldClosure,
    service: Service,
    write: Writes,
    if_match: IfMatch = None,
) -> FieldOfAction:
    return await write.change(
        network_id,
        if_match,
        lambda expected: service.close_field(
            network_id, field_id, expected, body.closed_on, cause=write.cause
        ),
    )


# ---------------------------------------------------------------------------- district


@router.get(
    "/district",
    tags=["district coordination"],
    summary="The district coordination",
    responses=READ,
)
async def get_district(
    caller: Caller, service: Service, response: Response
) -> DistrictCoordination:
    found = await service.district_coordination()
    return entity(response, found.value, found.version)


@router.put(
    "/district",
    tags=["district coordination"],
    summary="Set who coordinates the district (district coordination only)",
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def put_district(
    body: DistrictPut, service: Service, write: Writes, if_match: IfMatch = None
) -> DistrictCoordination:
    write.caller.require_district()
    # The first setting needs no If-Match: there is no version to have read yet.
    expected = version_from_if_match(if_match) if if_match is not None else None
    stored = await service.set_district_coordination(
        body.coordinator.to_person(),
        body.service_unit.to_service_unit(),
        cause=write.cause,
        expected_version=expected,
    )
    return entity(write.response, stored.value, stored.version)


@router.get(
    "/district/bulletins", tags=["district coordination"], responses=problem_responses(401, 422)
)
async def list_bulletins(
    caller: Caller, service: Service, limit: Limit = 20, offset: Offset = 0
) -> Page[Bulletin]:
    items, total = await service.bulletins(limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/district/bulletins",
    tags=["district coordination"],
    status_code=status.HTTP_201_CREATED,
    summary="Publish information from the ministry to all twelve networks",
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def publish_bulletin(body: BulletinCreate, service: Service, write: Writes) -> Bulletin:
    write.caller.require_district()
    return await service.publish_bulletin(
        body.title, body.body, body.author.to_person(), cause=write.cause
    )
