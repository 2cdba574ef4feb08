"""The registry's rules, on the pure domain model: the network and each of its parts.

A command returns the events it caused; a factory the new aggregate with its events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from rbn_shared.errors import VersionConflict
from rbn_shared.events import EventPayload, NetworkRef, Person
from rbn_shared.events.base import MunicipalityKind, Side, Supervision
from rbn_shared.events.registry import (
    CommitteeMemberUpdated,
    CommitteeRole,
    Employer,
    FieldStatus,
    Municipality,
    OfficeContact,
    ServiceUnit,
)
from registry.domain import commands, model
from registry.domain.district import Bulletin, DistrictCoordination
from registry.domain.errors import Conflict, NotFound, RuleViolation

D = date
HAMM_ID = "hamm"
HAMM = NetworkRef(
    id=HAMM_ID, name="Regionales Bildungsnetzwerk Hamm", office_email="buero@hamm.example"
)
ValuesT = TypeVar("ValuesT", bound=BaseModel)


def details(name: str = "Regionales Bildungsnetzwerk Hamm") -> model.NetworkDetails:
    return model.NetworkDetails(
        name=name,
        municipality=Municipality(name="Hamm", kind=MunicipalityKind.CITY),
        office=OfficeContact(name="Bildungsbüro Hamm", email="buero@hamm.example"),
    )


def person(email: str = "anna.schmidt@schule.example", name: str = "Anna Schmidt") -> Person:
    return Person(name=name, email=email, organisation="Schulamt Hamm")


def membership(**values: Any) -> model.Membership:
    """Anna Schmidt, a member for the Land from 2026 on, but for `values`."""
    anna = {"person": person(), "side": Side.STATE, "role": CommitteeRole.MEMBER}
    return model.Membership.model_validate({**anna, "term_start": D(2026, 1, 1), **values})


def employment(**values: Any) -> model.Employment:
    """Anna Schmidt, in the office from August 2026 on, but for `values`."""
    anna = {"person": person(), "employer": Employer.STATE, "start_date": D(2026, 8, 1)}
    return model.Employment.model_validate({**anna, **values})


def description(title: str, needs: str = "Mehr Beratung") -> model.FieldDescription:
    return model.FieldDescription(
        title=title, starting_situation="Viele Abbrüche", development_needs=needs
    )


def changed(kind: type[ValuesT], entity: BaseModel, **changes: Any) -> ValuesT:
    """Updates take complete values: the entity's values of `kind`, with `changes` replaced."""
    return kind.model_validate({**dict(entity), **changes})


def types(events: Sequence[EventPayload]) -> list[str]:
    return [e.event_type for e in events]


def add(n: model.Committee, member_id: str, **values: Any) -> list[EventPayload]:
    return n.add_member(HAMM, member_id, commands.AddMember(HAMM_ID, membership(**values)))


def update(n: model.Committee, member_id: str, version: int, **changes: Any) -> list[EventPayload]:
    values = changed(model.Membership, n.member(member_id), **changes)
    return n.update_member(HAMM, commands.UpdateMember(HAMM_ID, member_id, version, values))


def test_registering_records_the_event_with_the_office_contact() -> None:
    n, [event] = model.Network.register(commands.RegisterNetwork(HAMM_ID, details("RBN Hamm")))
    assert event.event_type == "network-registered"
    assert event.network.office_email == "buero@hamm.example"  # type: ignore[attr-defined]
    assert (n.id, n.name) == (HAMM_ID, "RBN Hamm")


def test_update_records_an_event_only_when_something_changed() -> None:
    n, _ = model.Network.register(commands.RegisterNetwork(HAMM_ID, details()))
    assert n.update(commands.UpdateNetwork(HAMM_ID, 1, details())) == []
    renamed = n.update(commands.UpdateNetwork(HAMM_ID, 1, details("RBN Hamm (neu)")))
    assert types(renamed) == ["network-updated"]
    assert n.name == "RBN Hamm (neu)"


def test_only_one_active_agreement_and_termination_is_an_event() -> None:
    n = model.Agreements(network_id=HAMM_ID)
    events = n.sign(HAMM, "agr-1", commands.SignAgreement(HAMM_ID, D(2009, 6, 1), D(2009, 7, 1)))
    with pytest.raises(Conflict, match="already has an active cooperation agreement"):
        n.sign(HAMM, "agr-2", commands.SignAgreement(HAMM_ID, D(2020, 1, 1), D(2020, 1, 1)))
    ending = commands.TerminateAgreement(HAMM_ID, "agr-1", 1, D(2025, 12, 31), "Neuverhandlung")
    events += n.terminate(HAMM, ending)
    with pytest.raises(Conflict, match="already terminated"):
        n.terminate(HAMM, commands.TerminateAgreement(HAMM_ID, "agr-1", 2, D(2025, 12, 31), "x"))
    events += n.sign(HAMM, "agr-3", commands.SignAgreement(HAMM_ID, D(2026, 1, 1), D(2026, 1, 1)))
    assert types(events) == [
        "cooperation-agreement-signed",
        "cooperation-agreement-terminated",
        "cooperation-agreement-signed",
    ]
    assert n.active is not None
    assert n.active.signed_on == D(2026, 1, 1)


def test_agreement_dates_must_be_in_order() -> None:
    n = model.Agreements(network_id=HAMM_ID)
    with pytest.raises(RuleViolation) as error:
        n.sign(HAMM, "agr-1", commands.SignAgreement(HAMM_ID, D(2010, 1, 1), D(2009, 1, 1)))
    assert error.value.field == "valid_from"
    n.sign(HAMM, "agr-2", commands.SignAgreement(HAMM_ID, D(2010, 1, 1), D(2010, 1, 1)))
    early = commands.TerminateAgreement(HAMM_ID, "agr-2", 1, D(2009, 12, 31), "zu früh")
    with pytest.raises(RuleViolation) as error:
        n.terminate(HAMM, early)
    assert error.value.field == "terminated_on"


def test_same_person_cannot_join_a_committee_twice_even_in_other_case() -> None:
    n = model.Committee(network_id=HAMM_ID)
    events = add(n, "mem-1", role=CommitteeRole.CHAIR)
    with pytest.raises(Conflict) as error:
        add(n, "mem-2", person=person("Anna.Schmidt@Schule.example"))
    assert error.value.field == "person.email"
    assert types(events) == ["committee-member-added"]
    assert [m.id for m in n.members] == ["mem-1"]


def test_supervision_level_only_for_the_lands_side() -> None:
    n = model.Committee(network_id=HAMM_ID)
    add(n, "mem-1", supervision=Supervision.LOWER)
    with pytest.raises(RuleViolation) as error:
        add(
            n,
            "mem-2",
            person=person("k@stadt.example"),
            side=Side.MUNICIPALITY,
            supervision=Supervision.UPPER,
        )
    assert error.value.field == "supervision"


def test_term_end_before_start_is_refused() -> None:
    with pytest.raises(RuleViolation) as error:
        add(model.Committee(network_id=HAMM_ID), "mem-1", term_end=D(2025, 1, 1))
    assert error.value.field == "term_end"


def test_member_update_checks_version_and_records_only_real_changes() -> None:
    n = model.Committee(network_id=HAMM_ID)
    add(n, "mem-1")
    with pytest.raises(VersionConflict):
        update(n, "mem-1", 7, role=CommitteeRole.CHAIR)
    assert update(n, "mem-1", 1, role=CommitteeRole.MEMBER) == []
    assert n.member("mem-1").version == 1
    [event] = update(n, "mem-1", 1, role=CommitteeRole.CHAIR)
    assert n.member("mem-1").version == 2
    assert event.event_type == "committee-member-updated"
    assert event.role is CommitteeRole.CHAIR  # type: ignore[attr-defined]


def test_member_update_replaces_everything_so_none_clears_supervision_and_term_end() -> None:
    n = model.Committee(network_id=HAMM_ID)
    add(n, "mem-1", term_end=D(2028, 12, 31), supervision=Supervision.LOWER)
    renamed = person(name="Dr. Anna Schmidt")
    [event] = update(n, "mem-1", 1, person=renamed, supervision=None, term_end=None)
    updated = n.member("mem-1")
    assert (updated.supervision, updated.term_end, updated.version) == (None, None, 2)
    assert updated.person.name == "Dr. Anna Schmidt"
    assert isinstance(event, CommitteeMemberUpdated)
    assert event.supervision is None
    assert event.term_end is None


def test_member_update_keeps_the_rules_of_adding() -> None:
    n = model.Committee(network_id=HAMM_ID)
    add(n, "mem-1")
    add(n, "mem-2", person=person("k@stadt.example"), side=Side.MUNICIPALITY)
    member = n.member("mem-1")
    with pytest.raises(Conflict) as conflict:
        update(n, "mem-1", 1, person=person("K@Stadt.example"))
    assert conflict.value.field == "person.email"
    with pytest.raises(RuleViolation) as violation:
        update(n, "mem-1", 1, side=Side.MUNICIPALITY, supervision=Supervision.UPPER)
    assert violation.value.field == "supervision"
    with pytest.raises(RuleViolation) as violation:
        update(n, "mem-1", 1, term_end=D(2025, 12, 31))
    assert violation.value.field == "term_end"
    assert n.members[0] == member


def test_removal_records_the_reason_and_the_person_may_join_again_later() -> None:
    n = model.Committee(network_id=HAMM_ID)
    add(n, "mem-1")
    removal = commands.RemoveMember(HAMM_ID, "mem-1", 1, D(2026, 6, 30), "Ruhestand")
    [event] = n.remove_member(HAMM, removal)
    assert event.event_type == "committee-member-removed"
    assert event.reason == "Ruhestand"  # type: ignore[attr-defined]
    with pytest.raises(NotFound, match="was removed"):
        update(n, "mem-1", 2, role=CommitteeRole.CHAIR)
    add(n, "mem-2", role=CommitteeRole.DEPUTY, term_start=D(2027, 1, 1))
    assert [m.id for m in n.members] == ["mem-2"]  # those who left are former, stored apart
    assert [(m.id, m.removed_on) for m in n.former] == [("mem-1", D(2026, 6, 30))]
    assert "former" not in n.model_dump()


def test_a_committee_stored_with_removed_members_holds_them_as_former() -> None:
    """A committee document from before former members were stored apart still lists them."""
    stored = {"network_id": HAMM_ID, "members": [
        {**membership().model_dump(), "id": "mem-1", "removed_on": D(2026, 6, 30)},
        {**membership(person=person("neu@stadt.example")).model_dump(), "id": "mem-2"},
    ]}  # fmt: skip
    n = model.Committee.model_validate(stored)
    assert [m.id for m in n.members] == ["mem-2"]
    assert [m.id for m in n.former] == ["mem-1"]
    assert n.member("mem-1").removed_on == D(2026, 6, 30)


def test_the_lands_staff_are_released_teachers_with_a_share_of_hours() -> None:
    n = model.Office(network_id=HAMM_ID)

    def assign(staff_id: str, **values: Any) -> list[EventPayload]:
        return n.assign_staff(HAMM, staff_id, commands.AssignStaff(HAMM_ID, employment(**values)))

    with pytest.raises(RuleViolation) as error:
        assign("stf-1")
    assert error.value.field == "released_from_school"
    with pytest.raises(RuleViolation) as error:
        assign("stf-1", released_from_school="GS Hamm")
    assert error.value.field == "hours_share"
    with pytest.raises(RuleViolation) as error:
        assign(
            "stf-1",
            person=person("k@stadt.example"),
            employer=Employer.MUNICIPALITY,
            released_from_school="GS Hamm",
        )
    assert error.value.field == "released_from_school"
    events = assign("stf-1", released_from_school="GS Hamm", hours_share=0.5)
    with pytest.raises(Conflict):
        assign("stf-2", employer=Employer.MUNICIPALITY)
    leaving = commands.RemoveStaff(HAMM_ID, "stf-1", 1, D(2027, 7, 31), "Rückkehr an die Schule")
    events += n.remove_staff(HAMM, leaving)
    assert types(events) == ["office-staff-assigned", "office-staff-removed"]
    with pytest.raises(NotFound, match="has left"):
        n.remove_staff(HAMM, commands.RemoveStaff(HAMM_ID, "stf-1", 2, D(2027, 7, 31), "x"))


def test_field_of_action_lifecycle() -> None:
    n = model.FieldsOfAction(network_id=HAMM_ID)
    proposal = commands.ProposeField(HAMM_ID, description("Übergang Schule–Beruf"))
    events = n.propose(HAMM, "hf-1", proposal)

    def adopt(version: int, on: date) -> list[EventPayload]:
        return n.adopt(HAMM, commands.AdoptField(HAMM_ID, "hf-1", version, on))

    def close(version: int, on: date) -> list[EventPayload]:
        return n.close(HAMM, commands.CloseField(HAMM_ID, "hf-1", version, on))

    def update_needs(version: int, **changes: Any) -> list[EventPayload]:
        values = changed(model.FieldDescription, n.field("hf-1"), **changes)
        return n.update(HAMM, commands.UpdateField(HAMM_ID, "hf-1", version, values))

    with pytest.raises(Conflict, match="only adopted ones close"):
        close(1, D(2026, 1, 1))
    events += adopt(1, D(2026, 3, 1))
    with pytest.raises(Conflict, match="not proposed"):
        adopt(2, D(2026, 3, 2))
    events += update_needs(2, development_needs="Mehr Beratung und Praktika")
    with pytest.raises(RuleViolation) as error:
        close(3, D(2026, 2, 1))
    assert error.value.field == "closed_on"
    events += close(3, D(2027, 3, 1))
    assert n.field("hf-1").status is FieldStatus.CLOSED
    assert types(events) == [
        "field-of-action-proposed",
        "field-of-action-adopted",
        "field-of-action-updated",
        "field-of-action-closed",
    ]
    with pytest.raises(Conflict, match="is closed"):
        update_needs(4, title="Neu")


def test_two_open_fields_may_not_share_a_title() -> None:
    n = model.FieldsOfAction(network_id=HAMM_ID)
    n.propose(HAMM, "hf-1", commands.ProposeField(HAMM_ID, description("Inklusion")))
    with pytest.raises(Conflict) as error:
        n.propose(HAMM, "hf-2", commands.ProposeField(HAMM_ID, description("inklusion")))
    assert error.value.field == "title"


def test_a_field_keeps_its_own_title_and_may_change_its_case() -> None:
    n = model.FieldsOfAction(network_id=HAMM_ID)
    n.propose(HAMM, "hf-1", commands.ProposeField(HAMM_ID, description("Inklusion")))
    n.propose(HAMM, "hf-2", commands.ProposeField(HAMM_ID, description("Ganztag")))

    def retitle(field_id: str, title: str) -> list[EventPayload]:
        values = changed(model.FieldDescription, n.field(field_id), title=title)
        return n.update(HAMM, commands.UpdateField(HAMM_ID, field_id, 1, values))

    assert retitle("hf-1", "Inklusion") == []
    assert n.field("hf-1").version == 1
    assert types(retitle("hf-1", "INKLUSION")) == ["field-of-action-updated"]
    assert n.field("hf-1").title == "INKLUSION"
    with pytest.raises(Conflict) as error:
        retitle("hf-2", "inklusion")
    assert error.value.field == "title"


def test_unknown_entities_are_not_found() -> None:
    removal = commands.RemoveMember(HAMM_ID, "mem-x", 1, D(2026, 1, 1), "x")
    with pytest.raises(NotFound, match="no committee member mem-x"):
        model.Committee(network_id=HAMM_ID).remove_member(HAMM, removal)


def test_district_coordination_changes_only_when_different() -> None:
    coordinator = person("koordination@bezreg.example", "Dr. Beispiel")
    unit = ServiceUnit(name="Servicestelle", email="service@bezreg.example")
    setting = commands.SetDistrictCoordination(coordinator, unit)
    district, events = DistrictCoordination.establish(setting)
    assert types(events) == ["district-coordination-changed"]
    assert district.change(setting) == []


def test_a_bulletin_needs_networks_to_reach() -> None:
    author = person("koordination@bezreg.example")
    publish = commands.PublishBulletin("Erlass", "Text", author)
    with pytest.raises(RuleViolation):
        Bulletin.prepare("b1", D(2026, 1, 1), [], publish)
    bulletin, [event] = Bulletin.prepare("b1", D(2026, 1, 1), ["herne", "hagen"], publish)
    assert bulletin.network_ids == ["hagen", "herne"]
    assert event.network_ids == ["hagen", "herne"]  # type: ignore[attr-defined]
    assert event.bulletin_id == "b1"  # type: ignore[attr-defined]
