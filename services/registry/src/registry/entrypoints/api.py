"""The registry's HTTP API. Thin: parse, authorize, call the service layer, shape the answer.

Versions travel as ETags: every entity answers with `ETag: "<version>"`, and every change of an
existing entity needs `If-Match` with the version it was read at (a stale one gets 409).

A PATCH body is a JSON merge patch (RFC 7386) of the entity: the route merges it into what the
entity is now and validates the result with the same schema as a new one, so the domain always
gets complete values and a null can clear an optional member.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rbn_shared.auth import Caller
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
    validated,
    version_from_if_match,
)
from rbn_shared.text import Line
from registry.domain.district import Bulletin, DistrictCoordination
from registry.domain.errors import Conflict, DomainError, NotFound, RuleViolation, StaleVersion
from registry.domain.model import (
    Agreement,
    CommitteeMember,
    FieldOfAction,
    Network,
    OfficeStaff,
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
SchemaT = TypeVar("SchemaT", bound=Strict)

Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip")]
IfMatch = Annotated[str | None, Header(description='The version read, e.g. "3"')]


def get_service(request: Request) -> RegistryService:
    service: RegistryService = request.app.state.service
    return service


Service = Annotated[RegistryService, Depends(get_service)]


def as_problem(error: DomainError) -> Problem:
    errors = [field_error(error.field, error.message)] if error.field else []
    if isinstance(error, NotFound):
        return Problem(404, "Not found", error.message, kind="not-found")
    if isinstance(error, StaleVersion):
        return Problem(
            409,
            "Version conflict",
            error.message + "; read it again and retry.",
            kind="version-conflict",
        )
    if isinstance(error, Conflict):
        return Problem(409, "Conflict", error.message, errors=errors, kind="conflict")
    if isinstance(error, RuleViolation):
        return Problem(422, "Rule violated", error.message, errors=errors, kind="rule-violated")
    return Problem(400, "Bad request", error.message, errors=errors)


def install_domain_errors(app: FastAPI) -> None:
    async def on_domain_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, DomainError)  # noqa: S101 - registered for DomainError only
        problem = as_problem(error)
        return JSONResponse(
            problem.body(instance=request.url.path),
            status_code=problem.status,
            media_type=PROBLEM_JSON,
        )

    app.add_exception_handler(DomainError, on_domain_error)


def page(items: Sequence[T], limit: int, offset: int) -> Page[T]:
    return Page(
        items=list(items[offset : offset + limit]), total=len(items), limit=limit, offset=offset
    )


def entity(response: Response, value: T, version: int) -> T:
    response.headers["ETag"] = etag(version)
    return value


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


@router.get("/networks", tags=["networks"], summary="List the networks")
async def list_networks(
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    kind: MunicipalityKind | None = None,
    name: Annotated[Line | None, Query(description="Part of the name")] = None,
) -> Page[Network]:
    items, total = await service.networks.search(
        kind=kind.value if kind else None, name_contains=name, limit=limit, offset=offset
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/networks",
    tags=["networks"],
    status_code=status.HTTP_201_CREATED,
    summary="Register a network (district coordination only)",
)
async def register_network(
    body: NetworkCreate, caller: Caller, service: Service, request: Request, response: Response
) -> Network:
    caller.require_district()
    network = await service.register_network(
        body.id,
        body.name,
        body.municipality.to_municipality(),
        body.office.to_office(),
        correlation_id=correlation_id_of(request),
    )
    response.headers["Location"] = f"/networks/{network.id}"
    return entity(response, network, 1)


@router.get("/networks/{network_id}", tags=["networks"], summary="One network with all it holds")
async def get_network(
    network_id: str, caller: Caller, service: Service, response: Response
) -> Network:
    network, version = await service.network(network_id)
    return entity(response, network, version)


@router.patch("/networks/{network_id}", tags=["networks"], summary="Change name or contacts")
async def update_network(
    network_id: str,
    patch: Annotated[
        dict[str, Any], merge_patch_body(NetworkChange, {"office": {"phone": "0231 50-0"}})
    ],
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> Network:
    caller.require_write(network_id)
    expected = version_from_if_match(if_match)
    current, version = await service.network(network_id)
    if expected != version:
        raise StaleVersion(f"network {network_id} is at version {version}, not {expected}")
    body = patched(NetworkChange, current, patch)
    # `change` checks the version again under the network's lock: nothing in between is lost.
    changed = await service.change(
        network_id,
        lambda n: n.update(
            name=body.name,
            municipality=body.municipality.to_municipality(),
            office=body.office.to_office(),
        ),
        correlation_id=correlation_id_of(request),
        expected_network_version=expected,
    )
    return entity(response, changed.network, changed.version)


# ---------------------------------------------------------------------------- agreements


@router.get("/networks/{network_id}/agreements", tags=["cooperation agreements"])
async def list_agreements(
    network_id: str, caller: Caller, service: Service, limit: Limit = 20, offset: Offset = 0
) -> Page[Agreement]:
    network, _ = await service.network(network_id)
    return page(network.agreements, limit, offset)


@router.post(
    "/networks/{network_id}/agreements",
    tags=["cooperation agreements"],
    status_code=status.HTTP_201_CREATED,
    summary="Record a signed cooperation agreement",
)
async def sign_agreement(
    network_id: str,
    body: AgreementCreate,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
) -> Agreement:
    caller.require_write(network_id)
    changed = await service.change(
        network_id,
        lambda n: n.sign_agreement(body.signed_on, body.valid_from),
        correlation_id=correlation_id_of(request),
    )
    return entity(response, changed.result, changed.result.version)


@router.post(
    "/networks/{network_id}/agreements/{agreement_id}/termination",
    tags=["cooperation agreements"],
    summary="Terminate the agreement",
)
async def terminate_agreement(
    network_id: str,
    agreement_id: str,
    body: AgreementTermination,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> Agreement:
    caller.require_write(network_id)
    expected = version_from_if_match(if_match)
    changed = await service.change(
        network_id,
        lambda n: n.terminate_agreement(agreement_id, body.terminated_on, body.reason, expected),
        correlation_id=correlation_id_of(request),
    )
    return entity(response, changed.result, changed.result.version)


# ---------------------------------------------------------------------------- steering committee


def _find(items: Sequence[T], key: Callable[[T], str], item_id: str, what: str) -> T:
    for item in items:
        if key(item) == item_id:
            return item
    raise NotFound(f"no {what} {item_id}")


@router.get("/networks/{network_id}/committee/members", tags=["steering committee"])
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
    network, _ = await service.network(network_id)
    members = [
        m
        for m in network.committee
        if (include_removed or m.active) and side in (None, m.side) and role in (None, m.role)
    ]
    return page(members, limit, offset)


@router.post(
    "/networks/{network_id}/committee/members",
    tags=["steering committee"],
    status_code=status.HTTP_201_CREATED,
    summary="Add a member",
)
async def add_member(
    network_id: str,
    body: MemberCreate,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
) -> CommitteeMember:
    caller.require_write(network_id)
    changed = await service.change(
        network_id,
        lambda n: n.add_member(
            body.person.to_person(),
            body.side,
            body.role,
            body.term_start,
            body.term_end,
            body.supervision,
        ),
        correlation_id=correlation_id_of(request),
    )
    response.headers["Location"] = f"/networks/{network_id}/committee/members/{changed.result.id}"
    return entity(response, changed.result, changed.result.version)


@router.get("/networks/{network_id}/committee/members/{member_id}", tags=["steering committee"])
async def get_member(
    network_id: str, member_id: str, caller: Caller, service: Service, response: Response
) -> CommitteeMember:
    network, _ = await service.network(network_id)
    member = _find(network.committee, lambda m: m.id, member_id, "committee member")
    return entity(response, member, member.version)


@router.patch("/networks/{network_id}/committee/members/{member_id}", tags=["steering committee"])
async def update_member(
    network_id: str,
    member_id: str,
    patch: Annotated[
        dict[str, Any], merge_patch_body(MemberCreate, {"person": {"function": "Schulleiterin"}})
    ],
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> CommitteeMember:
    caller.require_write(network_id)
    expected = version_from_if_match(if_match)
    current, _ = await service.network(network_id)
    member = _find(current.committee, lambda m: m.id, member_id, "committee member")
    member.check_version(expected)
    body = patched(MemberCreate, member, patch)
    # The domain checks the version again under the network's lock: nothing in between is lost.
    changed = await service.change(
        network_id,
        lambda n: n.update_member(
            member_id,
            expected,
            person=body.person.to_person(),
            side=body.side,
            role=body.role,
            supervision=body.supervision,
            term_start=body.term_start,
            term_end=body.term_end,
        ),
        correlation_id=correlation_id_of(request),
    )
    return entity(response, changed.result, changed.result.version)


@router.post(
    "/networks/{network_id}/committee/members/{member_id}/removal",
    tags=["steering committee"],
    summary="Remove a member, with the reason",
)
async def remove_member(
    network_id: str,
    member_id: str,
    body: MemberRemoval,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> CommitteeMember:
    caller.require_write(network_id)
    expected = version_from_if_match(if_match)
    changed = await service.change(
        network_id,
        lambda n: n.remove_member(member_id, body.removed_on, body.reason, expected),
        correlation_id=correlation_id_of(request),
    )
    return entity(response, changed.result, changed.result.version)


# ---------------------------------------------------------------------------- education office


@router.get("/networks/{network_id}/office/staff", tags=["education office"])
async def list_staff(
    network_id: str,
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    include_former: bool = False,
) -> Page[OfficeStaff]:
    network, _ = await service.network(network_id)
    return page([s for s in network.staff if include_former or s.active], limit, offset)


@router.post(
    "/networks/{network_id}/office/staff",
    tags=["education office"],
    status_code=status.HTTP_201_CREATED,
    summary="Assign a staff member",
)
async def assign_staff(
    network_id: str,
    body: StaffCreate,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
) -> OfficeStaff:
    caller.require_write(network_id)
    changed = await service.change(
        network_id,
        lambda n: n.assign_staff(
            body.person.to_person(),
            body.employer,
            body.start_date,
            body.end_date,
            body.released_from_school,
            body.hours_share,
        ),
        correlation_id=correlation_id_of(request),
    )
    response.headers["Location"] = f"/networks/{network_id}/office/staff/{changed.result.id}"
    return entity(response, changed.result, changed.result.version)


@router.get("/networks/{network_id}/office/staff/{staff_id}", tags=["education office"])
async def get_staff(
    network_id: str, staff_id: str, caller: Caller, service: Service, response: Response
) -> OfficeStaff:
    network, _ = await service.network(network_id)
    staff = _find(network.staff, lambda s: s.id, staff_id, "office staff member")
    return entity(response, staff, staff.version)


@router.post(
    "/networks/{network_id}/office/staff/{staff_id}/removal",
    tags=["education office"],
    summary="A staff member leaves the office",
)
async def remove_staff(
    network_id: str,
    staff_id: str,
    body: StaffRemoval,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> OfficeStaff:
    caller.require_write(network_id)
    expected = version_from_if_match(if_match)
    changed = await service.change(
        network_id,
        lambda n: n.remove_staff(staff_id, body.end_date, body.reason, expected),
        correlation_id=correlation_id_of(request),
    )
    return entity(response, changed.result, changed.result.version)


# ---------------------------------------------------------------------------- fields of action


@router.get("/networks/{network_id}/fields-of-action", tags=["fields of action"])
async def list_fields(
    network_id: str,
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    status_is: Annotated[FieldStatus | None, Query(alias="status")] = None,
) -> Page[FieldOfAction]:
    network, _ = await service.network(network_id)
    fields = [f for f in network.fields_of_action if status_is in (None, f.status)]
    return page(fields, limit, offset)


@router.post(
    "/networks/{network_id}/fields-of-action",
    tags=["fields of action"],
    status_code=status.HTTP_201_CREATED,
    summary="Propose a field of action",
)
async def propose_field(
    network_id: str,
    body: FieldCreate,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
) -> FieldOfAction:
    caller.require_write(network_id)
    changed = await service.change(
        network_id,
        lambda n: n.propose_field(body.title, body.starting_situation, body.development_needs),
        correlation_id=correlation_id_of(request),
    )
    response.headers["Location"] = f"/networks/{network_id}/fields-of-action/{changed.result.id}"
    return entity(response, changed.result, changed.result.version)


@router.get("/networks/{network_id}/fields-of-action/{field_id}", tags=["fields of action"])
async def get_field(
    network_id: str, field_id: str, caller: Caller, service: Service, response: Response
) -> FieldOfAction:
    network, _ = await service.network(network_id)
    field = _find(network.fields_of_action, lambda f: f.id, field_id, "field of action")
    return entity(response, field, field.version)


@router.patch("/networks/{network_id}/fields-of-action/{field_id}", tags=["fields of action"])
async def update_field(
    network_id: str,
    field_id: str,
    patch: Annotated[
        dict[str, Any], merge_patch_body(FieldCreate, {"development_needs": "Mehr Beratung"})
    ],
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> FieldOfAction:
    caller.require_write(network_id)
    expected = version_from_if_match(if_match)
    current, _ = await service.network(network_id)
    field = _find(current.fields_of_action, lambda f: f.id, field_id, "field of action")
    field.check_version(expected)
    body = patched(FieldCreate, field, patch)
    changed = await service.change(
        network_id,
        lambda n: n.update_field(
            field_id,
            expected,
            title=body.title,
            starting_situation=body.starting_situation,
            development_needs=body.development_needs,
        ),
        correlation_id=correlation_id_of(request),
    )
    return entity(response, changed.result, changed.result.version)


@router.post(
    "/networks/{network_id}/fields-of-action/{field_id}/adoption",
    tags=["fields of action"],
    summary="The steering committee adopted it",
)
async def adopt_field(
    network_id: str,
    field_id: str,
    body: FieldAdoption,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> FieldOfAction:
    caller.require_write(network_id)
    expected = version_from_if_match(if_match)
    changed = await service.change(
        network_id,
        lambda n: n.adopt_field(field_id, body.adopted_on, expected),
        correlation_id=correlation_id_of(request),
    )
    return entity(response, changed.result, changed.result.version)


@router.post(
    "/networks/{network_id}/fields-of-action/{field_id}/closure",
    tags=["fields of action"],
    summary="Close an adopted field of action",
)
async def close_field(
    network_id: str,
    field_id: str,
    body: FieldClosure,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> FieldOfAction:
    caller.require_write(network_id)
    expected = version_from_if_match(if_match)
    changed = await service.change(
        network_id,
        lambda n: n.close_field(field_id, body.closed_on, expected),
        correlation_id=correlation_id_of(request),
    )
    return entity(response, changed.result, changed.result.version)


# ---------------------------------------------------------------------------- district


@router.get("/district", tags=["district coordination"], summary="The district coordination")
async def get_district(
    caller: Caller, service: Service, response: Response
) -> DistrictCoordination:
    district, version = await service.district_coordination()
    return entity(response, district, version)


@router.put(
    "/district",
    tags=["district coordination"],
    summary="Set who coordinates the district (district coordination only)",
)
async def put_district(
    body: DistrictPut,
    caller: Caller,
    service: Service,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> DistrictCoordination:
    caller.require_district()
    expected = version_from_if_match(if_match) if if_match is not None else None
    district, version = await service.set_district_coordination(
        body.coordinator.to_person(),
        body.service_unit.to_service_unit(),
        correlation_id=correlation_id_of(request),
        expected_version=expected,
    )
    return entity(response, district, version)


@router.get("/district/bulletins", tags=["district coordination"])
async def list_bulletins(
    caller: Caller, service: Service, limit: Limit = 20, offset: Offset = 0
) -> Page[Bulletin]:
    items, total = await service.district.bulletins(limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/district/bulletins",
    tags=["district coordination"],
    status_code=status.HTTP_201_CREATED,
    summary="Publish information from the ministry to all twelve networks",
)
async def publish_bulletin(
    body: BulletinCreate, caller: Caller, service: Service, request: Request
) -> Bulletin:
    caller.require_district()
    return await service.publish_bulletin(
        body.title, body.body, body.author.to_person(), correlation_id=correlation_id_of(request)
    )
