"""The registry's HTTP API. Thin: parse, authorize, build the command, call the use case, answer.

Every change goes the same way (rbn_shared.writes): may the caller change this network (or is
it the district coordination) → the command, with the version read from If-Match for something
that exists → the use case → the answer with its ETag, and its Location if it is new. A stale
version gets 409. A network's own ETag is the version of the network itself (name, municipality,
office contact); its parts' entities carry their own.

A PATCH body is a JSON merge patch (RFC 7386) of the entity: the route merges it into what the
entity is now and validates the result with the same schema as a new one, so the domain always
gets complete values and a null can clear an optional member.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Query, Request, status
from pydantic import BaseModel

from rbn_shared.auth import Caller, Principal, authenticated
from rbn_shared.errors import VersionConflict
from rbn_shared.events import Person
from rbn_shared.events.base import MunicipalityKind, Side
from rbn_shared.events.registry import CommitteeRole, FieldStatus, ServiceUnit
from rbn_shared.http import MERGE_PATCH_JSON, merge_patch, problem_responses, validated
from rbn_shared.paging import Limit, Offset, Page, page
from rbn_shared.text import Line
from rbn_shared.writes import Reads, Versioned, Write, Writes
from registry.domain import commands, model
from registry.domain.district import Bulletin, DistrictCoordination
from registry.entrypoints import schemas
from registry.service_layer.services import RegistryService

T = TypeVar("T")
EntityT = TypeVar("EntityT", bound=model.Entity)
SchemaT = TypeVar("SchemaT", bound=schemas.Strict)


# The error answers of each kind of route (400: malformed JSON or If-Match; 413: body too big).
READ = problem_responses(401, 404)
LIST = problem_responses(401, 404, 422)
# People (members, staff): only for the district and the network's own office.
PEOPLE = problem_responses(401, 403, 404)
PEOPLE_LIST = problem_responses(401, 403, 404, 422)
CREATE = problem_responses(400, 401, 403, 404, 409, 413, 422)
CHANGE = problem_responses(400, 401, 403, 404, 409, 413, 422, 428)


async def get_service(request: Request) -> RegistryService:
    service: RegistryService = request.app.state.service
    return service


Service = Annotated[RegistryService, Depends(get_service)]


def merge_patch_body(schema: type[schemas.Strict], example: dict[str, Any]) -> Any:
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
    return validated(schema, merge_patch(schemas.editable(schema, current), patch))


def merged(
    schema: type[SchemaT], current: model.Entity, expected: int, patch: dict[str, Any]
) -> SchemaT:
    """The merge patch applied to the entity as the caller read it: a stale version is a 409
    before the patch is judged. The use case checks the version again under the part's lock,
    so nothing written in between is lost."""
    current.check_version(expected)
    return patched(schema, current, patch)


@dataclass
class NetworkChange:
    """A change of one network's parts: the caller may change this network (checked before the
    body is judged), the use case runs, and the answer carries the result's ETag."""

    network_id: str
    service: RegistryService
    write: Write

    @property
    def expected_version(self) -> int:
        return self.write.expected_version

    async def of(
        self,
        command: Callable[..., commands.EntityChange[EntityT]],
        entity_id: str,
        *details: object,
    ) -> EntityT:
        """Run a change of one existing entity: `command` for this network, that entity and the
        version the caller read (If-Match), with the change's `details` from the body."""
        change = command(self.network_id, entity_id, self.expected_version, *details)
        return self.write.answer(await self.service.handle(change, cause=self.write.cause))

    async def add(self, command: commands.PartCommand[EntityT], collection: APIRouter) -> EntityT:
        """Run a command that adds an entity; the answer carries its Location in `collection`."""
        result = await self.service.handle(command, cause=self.write.cause)
        where = collection.prefix.format(network_id=self.network_id)
        return self.write.answer(result, location=f"{where}/{result.value.id}")


async def _network_change(network_id: str, service: Service, write: Writes) -> NetworkChange:
    write.caller.require_write(network_id)
    return NetworkChange(network_id, service, write)


ChangesNetwork = Annotated[NetworkChange, Depends(_network_change)]


async def _district_change(write: Writes) -> Write:
    write.caller.require_district()  # before the body is judged, like `_network_change`
    return write


ChangesDistrict = Annotated[Write, Depends(_district_change)]


# One router per resource: its path and its tag are said once.
networks = APIRouter(prefix="/networks", tags=["networks"])
agreements = APIRouter(prefix="/networks/{network_id}/agreements", tags=["cooperation agreements"])
members = APIRouter(prefix="/networks/{network_id}/committee/members", tags=["steering committee"])
staff = APIRouter(prefix="/networks/{network_id}/office/staff", tags=["education office"])
fields = APIRouter(prefix="/networks/{network_id}/fields-of-action", tags=["fields of action"])
district = APIRouter(prefix="/district", tags=["district coordination"])


# ---------------------------------------------------------------------------- networks


@networks.get("", summary="List the networks", responses=problem_responses(401, 422))
async def list_networks(
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    kind: MunicipalityKind | None = None,
    name: Annotated[Line | None, Query(description="Part of the name")] = None,
) -> Page[model.WholeNetwork]:
    items, total = await service.search_networks(
        kind=kind.value if kind else None, name_contains=name, limit=limit, offset=offset
    )
    shown = [as_seen_by(caller, network) for network in items]
    return Page(items=shown, total=total, limit=limit, offset=offset)


def as_seen_by(caller: Principal, network: model.WholeNetwork) -> model.WholeNetwork:
    """People only for the district and the network's own office."""
    return network if caller.sees_personal_data(network.id) else network.without_people()


@networks.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a network (district coordination only)",
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def register_network(
    body: schemas.NetworkCreate, service: Service, write: ChangesDistrict
) -> model.WholeNetwork:
    command = commands.RegisterNetwork(body.id, body.to(model.NetworkDetails))
    registered = await service.register_network(command, cause=write.cause)
    return write.answer(registered, location=f"/networks/{body.id}")


@networks.get(
    "/{network_id}",
    summary="One network with all it holds",
    description="The ETag is the version of the network itself: its name and contacts.",
    responses=READ,
)
async def get_network(network_id: str, service: Service, read: Reads) -> model.WholeNetwork:
    found = await service.network(network_id)
    return as_seen_by(read.caller, read.answer(found))


@networks.patch(
    "/{network_id}",
    summary="Change name or contacts",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 428),
)
async def update_network(
    network_id: str,
    patch: Annotated[
        dict[str, Any], merge_patch_body(schemas.NetworkChange, {"office": {"phone": "0231 50-0"}})
    ],
    change: ChangesNetwork,
) -> model.WholeNetwork:
    service, write = change.service, change.write
    expected = write.expected_version
    current = await service.network(network_id)
    if expected != current.version:
        raise VersionConflict(
            f"network {network_id} is at version {current.version}, not {expected}"
        )
    body = patched(schemas.NetworkChange, current.value, patch)
    # The use case checks the version again under the network's lock: nothing in between is lost.
    command = commands.UpdateNetwork(network_id, expected, body.to(model.NetworkDetails))
    return write.answer(await service.update_network(command, cause=write.cause))


# ---------------------------------------------------------------------------- agreements


@agreements.get("", responses=LIST)
async def list_agreements(
    network_id: str, service: Service, limit: Limit = 20, offset: Offset = 0
) -> Page[model.Agreement]:
    return page((await service.part(model.Agreements, network_id)).agreements, limit, offset)


@agreements.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a signed cooperation agreement",
    responses=CREATE,
)
async def sign_agreement(body: schemas.AgreementCreate, change: ChangesNetwork) -> model.Agreement:
    command = commands.SignAgreement(change.network_id, body.signed_on, body.valid_from)
    return await change.add(command, agreements)


@agreements.post("/{agreement_id}/termination", summary="Terminate the agreement", responses=CHANGE)
async def terminate_agreement(
    agreement_id: str, body: schemas.AgreementTermination, change: ChangesNetwork
) -> model.Agreement:
    ending = (body.terminated_on, body.reason)
    return await change.of(commands.TerminateAgreement, agreement_id, *ending)


# ---------------------------------------------------------------------------- steering committee


@members.get("", responses=PEOPLE_LIST)
async def list_members(
    network_id: str,
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    side: Side | None = None,
    role: CommitteeRole | None = None,
    include_removed: bool = False,
) -> Page[model.CommitteeMember]:
    caller.require_personal_data(network_id)
    committee = await service.part(model.Committee, network_id, with_former=include_removed)
    found = [
        m
        for m in [*committee.members, *committee.former]
        if side in (None, m.side) and role in (None, m.role)
    ]
    return page(found, limit, offset)


@members.post("", status_code=status.HTTP_201_CREATED, summary="Add a member", responses=CREATE)
async def add_member(body: schemas.MemberCreate, change: ChangesNetwork) -> model.CommitteeMember:
    return await change.add(
        commands.AddMember(change.network_id, body.to(model.Membership)), members
    )


@members.get("/{member_id}", responses=PEOPLE)
async def get_member(
    network_id: str, member_id: str, service: Service, read: Reads
) -> model.CommitteeMember:
    read.caller.require_personal_data(network_id)
    member = await service.person(model.Committee, network_id, member_id)
    return read.answer(Versioned(member, member.version))


@members.patch("/{member_id}", responses=CHANGE)
async def update_member(
    member_id: str,
    patch: Annotated[
        dict[str, Any],
        merge_patch_body(schemas.MemberCreate, {"person": {"function": "Schulleiterin"}}),
    ],
    change: ChangesNetwork,
) -> model.CommitteeMember:
    member = (await change.service.part(model.Committee, change.network_id)).member(member_id)
    body = merged(schemas.MemberCreate, member, change.expected_version, patch)
    return await change.of(commands.UpdateMember, member_id, body.to(model.Membership))


@members.post("/{member_id}/removal", summary="Remove a member, with the reason", responses=CHANGE)
async def remove_member(
    member_id: str, body: schemas.MemberRemoval, change: ChangesNetwork
) -> model.CommitteeMember:
    return await change.of(commands.RemoveMember, member_id, body.removed_on, body.reason)


# ---------------------------------------------------------------------------- education office


@staff.get("", responses=PEOPLE_LIST)
async def list_staff(
    network_id: str,
    caller: Caller,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    include_former: bool = False,
) -> Page[model.OfficeStaff]:
    caller.require_personal_data(network_id)
    office = await service.part(model.Office, network_id, with_former=include_former)
    return page([*office.staff, *office.former], limit, offset)


@staff.post(
    "", status_code=status.HTTP_201_CREATED, summary="Assign a staff member", responses=CREATE
)
async def assign_staff(body: schemas.StaffCreate, change: ChangesNetwork) -> model.OfficeStaff:
    return await change.add(
        commands.AssignStaff(change.network_id, body.to(model.Employment)), staff
    )


@staff.get("/{staff_id}", responses=PEOPLE)
async def get_staff(
    network_id: str, staff_id: str, service: Service, read: Reads
) -> model.OfficeStaff:
    read.caller.require_personal_data(network_id)
    found = await service.person(model.Office, network_id, staff_id)
    return read.answer(Versioned(found, found.version))


@staff.post("/{staff_id}/removal", summary="A staff member leaves the office", responses=CHANGE)
async def remove_staff(
    staff_id: str, body: schemas.StaffRemoval, change: ChangesNetwork
) -> model.OfficeStaff:
    return await change.of(commands.RemoveStaff, staff_id, body.end_date, body.reason)


# ---------------------------------------------------------------------------- fields of action


@fields.get("", responses=LIST)
async def list_fields(
    network_id: str,
    service: Service,
    limit: Limit = 20,
    offset: Offset = 0,
    status_is: Annotated[FieldStatus | None, Query(alias="status")] = None,
) -> Page[model.FieldOfAction]:
    found = (await service.part(model.FieldsOfAction, network_id)).fields
    return page([f for f in found if status_is in (None, f.status)], limit, offset)


@fields.post(
    "", status_code=status.HTTP_201_CREATED, summary="Propose a field of action", responses=CREATE
)
async def propose_field(body: schemas.FieldCreate, change: ChangesNetwork) -> model.FieldOfAction:
    description = body.to(model.FieldDescription)
    return await change.add(commands.ProposeField(change.network_id, description), fields)


@fields.get("/{field_id}", responses=READ)
async def get_field(
    network_id: str, field_id: str, service: Service, read: Reads
) -> model.FieldOfAction:
    field = (await service.part(model.FieldsOfAction, network_id)).field(field_id)
    return read.answer(Versioned(field, field.version))


@fields.patch("/{field_id}", responses=CHANGE)
async def update_field(
    field_id: str,
    patch: Annotated[
        dict[str, Any],
        merge_patch_body(schemas.FieldCreate, {"development_needs": "Mehr Beratung"}),
    ],
    change: ChangesNetwork,
) -> model.FieldOfAction:
    field = (await change.service.part(model.FieldsOfAction, change.network_id)).field(field_id)
    body = merged(schemas.FieldCreate, field, change.expected_version, patch)
    return await change.of(commands.UpdateField, field_id, body.to(model.FieldDescription))


@fields.post("/{field_id}/adoption", summary="The steering committee adopted it", responses=CHANGE)
async def adopt_field(
    field_id: str, body: schemas.FieldAdoption, change: ChangesNetwork
) -> model.FieldOfAction:
    return await change.of(commands.AdoptField, field_id, body.adopted_on)


@fields.post("/{field_id}/closure", summary="Close an adopted field of action", responses=CHANGE)
async def close_field(
    field_id: str, body: schemas.FieldClosure, change: ChangesNetwork
) -> model.FieldOfAction:
    return await change.of(commands.CloseField, field_id, body.closed_on)


# ---------------------------------------------------------------------------- district


@district.get("", summary="The district coordination", responses=READ)
async def get_district(service: Service, read: Reads) -> DistrictCoordination:
    return read.answer(await service.district_coordination())


@district.put(
    "",
    summary="Set who coordinates the district (district coordination only)",
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def put_district(
    body: schemas.DistrictPut, service: Service, write: ChangesDistrict
) -> DistrictCoordination:
    # The first setting needs no If-Match: there is no version to have read yet.
    expected = write.expected_version if write.if_match is not None else None
    command = commands.SetDistrictCoordination(
        body.coordinator.to(Person), body.service_unit.to(ServiceUnit), expected
    )
    return write.answer(await service.set_district_coordination(command, cause=write.cause))


@district.get("/bulletins", responses=problem_responses(401, 422))
async def list_bulletins(service: Service, limit: Limit = 20, offset: Offset = 0) -> Page[Bulletin]:
    items, total = await service.bulletins(limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@district.post(
    "/bulletins",
    status_code=status.HTTP_201_CREATED,
    summary="Publish information from the ministry to all twelve networks",
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def publish_bulletin(
    body: schemas.BulletinCreate, service: Service, write: ChangesDistrict
) -> Bulletin:
    command = commands.PublishBulletin(body.title, body.body, body.author.to(Person))
    return await service.publish_bulletin(command, cause=write.cause)


# Every route needs a token (401 without one); a change asks for its role besides (403).
router = APIRouter()
for resource in (networks, agreements, members, staff, fields, district):
    router.include_router(resource, dependencies=[Depends(authenticated)])
