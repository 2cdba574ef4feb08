"""The registry's rules, on the pure domain model: the network and each of its parts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from rbn_shared.errors import VersionConflict
from rbn_shared.events import NetworkRef, Person
from rbn_shared.events.base import MunicipalityKind, Side, Supervision
from rbn_shared.events.registry import (
    CommitteeRole,
    Employer,
    FieldStatus,
    Municipality,
    OfficeContact,
    ServiceUnit,
)
from registry.domain.district import DistrictCoordination, prepare_bulletin
from registry.domain.errors import Conflict, NotFound, RuleViolation
from registry.domain.model import (
    Agreements,
    Committee,
    CommitteeMember,
    FieldOfAction,
    FieldsOfAction,
    Network,
    Office,
    Recording,
)

D = date


def network() -> Network:
    n = Network.register(
        "hamm",
        "Regionales Bildungsnetzwerk Hamm",
        Municipality(name="Hamm", kind=MunicipalityKind.CITY),
        OfficeContact(name="Bildungsbüro Hamm", email="buero@hamm.example"),
    )
    n.take_events()
    return n


HAMM = NetworkRef(
    id="hamm", name="Regionales Bildungsnetzwerk Hamm", office_email="buero@hamm.example"
)


def agreements() -> Agreements:
    return Agreements(network_id="hamm")


def committee() -> Committee:
    return Committee(network_id="hamm")


def office() -> Office:
    return Office(network_id="hamm")


def fields() -> FieldsOfAction:
    return FieldsOfAction(network_id="hamm")


def person(email: str = "anna.schmidt@schule.example", name: str = "Anna Schmidt") -> Person:
    return Person(name=name, email=email, organisation="Schulamt Hamm")


def types(n: Recording) -> list[str]:
    return [e.event_type for e in n.take_events()]


def update_member(
    n: Committee, member: CommitteeMember, version: int | None, **changes: Any
) -> CommitteeMember:
    """Updates take complete values: the member as it is, with `changes` replaced."""
    new = member.model_copy(update=changes)
    return n.update_member(
        HAMM,
        member.id,
        version,
        person=new.person,
        side=new.side,
        role=new.role,
        supervision=new.supervision,
        term_start=new.term_start,
        term_end=new.term_end,
    )


def update_field(
    n: FieldsOfAction, field: FieldOfAction, version: int | None, **changes: Any
) -> FieldOfAction:
    """Updates take complete values: the field's texts, with `changes` replaced."""
    new = field.model_copy(update=changes)
    return n.update(
        HAMM,
        field.id,
        version,
        title=new.title,
        starting_situation=new.starting_situation,
        development_needs=new.development_needs,
    )


def test_registering_records_the_event_with_the_office_contact() -> None:
    n = Network.register(
        "hamm",
        "RBN Hamm",
        Municipality(name="Hamm", kind=MunicipalityKind.CITY),
        OfficeContact(name="Büro", email="buero@hamm.example"),
    )
    [event] = n.take_events()
    assert event.event_type == "network-registered"
    assert event.network.office_email == "buero@hamm.example"  # type: ignore[attr-defined]


def test_update_records_an_event_only_when_something_changed() -> None:
    n = network()
    assert n.update(name=n.name, municipality=n.municipality, office=n.office) is False
    assert types(n) == []
    assert n.update(name="RBN Hamm (neu)", municipality=n.municipality, office=n.office) is True
    assert types(n) == ["network-updated"]


def test_only_one_active_agreement_and_termination_is_an_event() -> None:
    n = agreements()
    first = n.sign(HAMM, D(2009, 6, 1), D(2009, 7, 1))
    with pytest.raises(Conflict, match="already has an active cooperation agreement"):
        n.sign(HAMM, D(2020, 1, 1), D(2020, 1, 1))
    n.terminate(HAMM, first.id, D(2025, 12, 31), "Neuverhandlung", expected_version=1)
    with pytest.raises(Conflict, match="already terminated"):
        n.terminate(HAMM, first.id, D(2025, 12, 31), "nochmal", expected_version=None)
    n.sign(HAMM, D(2026, 1, 1), D(2026, 1, 1))
    assert types(n) == [
        "cooperation-agreement-signed",
        "cooperation-agreement-terminated",
        "cooperation-agreement-signed",
    ]
    assert n.active is not None
    assert n.active.signed_on == D(2026, 1, 1)


def test_agreement_dates_must_be_in_order() -> None:
    n = agreements()
    with pytest.raises(RuleViolation) as error:
        n.sign(HAMM, D(2010, 1, 1), D(2009, 1, 1))
    assert error.value.field == "valid_from"
    agreement = n.sign(HAMM, D(2010, 1, 1), D(2010, 1, 1))
    with pytest.raises(RuleViolation) as error:
        n.terminate(HAMM, agreement.id, D(2009, 12, 31), "zu früh", None)
    assert error.value.field == "terminated_on"


def test_same_person_cannot_join_a_committee_twice_even_in_other_case() -> None:
    n = committee()
    n.add_member(HAMM, person(), Side.STATE, CommitteeRole.CHAIR, D(2026, 1, 1))
    with pytest.raises(Conflict) as error:
        n.add_member(
            HAMM,
            person("Anna.Schmidt@Schule.example"),
            Side.STATE,
            CommitteeRole.MEMBER,
            D(2026, 1, 1),
        )
    assert error.value.field == "person.email"
    assert types(n) == ["committee-member-added"]


def test_supervision_level_only_for_the_lands_side() -> None:
    n = committee()
    n.add_member(
        HAMM,
        person(),
        Side.STATE,
        CommitteeRole.MEMBER,
        D(2026, 1, 1),
        supervision=Supervision.LOWER,
    )
    with pytest.raises(RuleViolation) as error:
        n.add_member(
            HAMM,
            person("k@stadt.example"),
            Side.MUNICIPALITY,
            CommitteeRole.MEMBER,
            D(2026, 1, 1),
            supervision=Supervision.UPPER,
        )
    assert error.value.field == "supervision"


def test_term_end_before_start_is_refused() -> None:
    with pytest.raises(RuleViolation) as error:
        committee().add_member(
            HAMM, person(), Side.STATE, CommitteeRole.MEMBER, D(2026, 1, 1), D(2025, 1, 1)
        )
    assert error.value.field == "term_end"


def test_member_update_checks_version_and_records_only_real_changes() -> None:
    n = committee()
    member = n.add_member(HAMM, person(), Side.STATE, CommitteeRole.MEMBER, D(2026, 1, 1))
    n.take_events()
    with pytest.raises(VersionConflict):
        update_member(n, member, 7, role=CommitteeRole.CHAIR)
    assert update_member(n, member, 1, role=CommitteeRole.MEMBER).version == 1
    assert types(n) == []
    updated = update_member(n, member, 1, role=CommitteeRole.CHAIR)
    assert updated.version == 2
    [event] = n.take_events()
    assert event.event_type == "committee-member-updated"
    assert event.role is CommitteeRole.CHAIR  # type: ignore[attr-defined]


def test_member_update_replaces_everything_so_none_clears_supervision_and_term_end() -> None:
    n = committee()
    member = n.add_member(
        HAMM,
        person(),
        Side.STATE,
        CommitteeRole.MEMBER,
        D(2026, 1, 1),
        D(2028, 12, 31),
        supervision=Supervision.LOWER,
    )
    n.take_events()
    updated = update_member(
        n, member, 1, person=person(name="Dr. Anna Schmidt"), supervision=None, term_end=None
    )
    assert (updated.supervision, updated.term_end, updated.version) == (None, None, 2)
    assert updated.person.name == "Dr. Anna Schmidt"
    [event] = n.take_events()
    assert event.supervision is None  # type: ignore[attr-defined]
    assert event.term_end is None  # type: ignore[attr-defined]


def test_member_update_keeps_the_rules_of_adding() -> None:
    n = committee()
    member = n.add_member(HAMM, person(), Side.STATE, CommitteeRole.MEMBER, D(2026, 1, 1))
    n.add_member(
        HAMM, person("k@stadt.example"), Side.MUNICIPALITY, CommitteeRole.MEMBER, D(2026, 1, 1)
    )
    n.take_events()
    with pytest.raises(Conflict) as conflict:
        update_member(n, member, 1, person=person("K@Stadt.example"))
    assert conflict.value.field == "person.email"
    with pytest.raises(RuleViolation) as violation:
        update_member(n, member, 1, side=Side.MUNICIPALITY, supervision=Supervision.UPPER)
    assert violation.value.field == "supervision"
    with pytest.raises(RuleViolation) as violation:
        update_member(n, member, 1, term_end=D(2025, 12, 31))
    assert violation.value.field == "term_end"
    assert types(n) == []
    assert n.members[0] == member


def test_removal_records_the_reason_and_the_person_may_join_again_later() -> None:
    n = committee()
    member = n.add_member(HAMM, person(), Side.STATE, CommitteeRole.MEMBER, D(2026, 1, 1))
    n.take_events()
    n.remove_member(HAMM, member.id, D(2026, 6, 30), "Ruhestand", expected_version=1)
    [event] = n.take_events()
    assert event.event_type == "committee-member-removed"
    assert event.reason == "Ruhestand"  # type: ignore[attr-defined]
    with pytest.raises(NotFound, match="was removed"):
        update_member(n, member, None, role=CommitteeRole.CHAIR)
    again = n.add_member(HAMM, person(), Side.STATE, CommitteeRole.DEPUTY, D(2027, 1, 1))
    assert again.id != member.id


def test_the_lands_staff_are_released_teachers_with_a_share_of_hours() -> None:
    n = office()
    with pytest.raises(RuleViolation) as error:
        n.assign_staff(HAMM, person(), Employer.STATE, D(2026, 8, 1))
    assert error.value.field == "released_from_school"
    with pytest.raises(RuleViolation) as error:
        n.assign_staff(
            HAMM, person(), Employer.STATE, D(2026, 8, 1), released_from_school="GS Hamm"
        )
    assert error.value.field == "hours_share"
    with pytest.raises(RuleViolation) as error:
        n.assign_staff(
            HAMM,
            person("k@stadt.example"),
            Employer.MUNICIPALITY,
            D(2026, 8, 1),
            released_from_school="GS Hamm",
        )
    assert error.value.field == "released_from_school"
    staff = n.assign_staff(HAMM, person(), Employer.STATE, D(2026, 8, 1), None, "GS Hamm", 0.5)
    with pytest.raises(Conflict):
        n.assign_staff(HAMM, person(), Employer.MUNICIPALITY, D(2026, 8, 1))
    n.remove_staff(HAMM, staff.id, D(2027, 7, 31), "Rückkehr an die Schule", expected_version=1)
    assert types(n) == ["office-staff-assigned", "office-staff-removed"]
    with pytest.raises(NotFound, match="has left"):
        n.remove_staff(HAMM, staff.id, D(2027, 7, 31), "nochmal", None)


def test_field_of_action_lifecycle() -> None:
    n = fields()
    field = n.propose(HAMM, "Übergang Schule–Beruf", "Viele Abbrüche", "Mehr Beratung")
    with pytest.raises(Conflict, match="only adopted ones close"):
        n.close(HAMM, field.id, D(2026, 1, 1), None)
    n.adopt(HAMM, field.id, D(2026, 3, 1), expected_version=1)
    with pytest.raises(Conflict, match="not proposed"):
        n.adopt(HAMM, field.id, D(2026, 3, 2), None)
    update_field(n, field, 2, development_needs="Mehr Beratung und Praktika")
    with pytest.raises(RuleViolation) as error:
        n.close(HAMM, field.id, D(2026, 2, 1), None)
    assert error.value.field == "closed_on"
    closed = n.close(HAMM, field.id, D(2027, 3, 1), expected_version=3)
    assert closed.status is FieldStatus.CLOSED
    assert types(n) == [
        "field-of-action-proposed",
        "field-of-action-adopted",
        "field-of-action-updated",
        "field-of-action-closed",
    ]
    with pytest.raises(Conflict, match="is closed"):
        update_field(n, field, None, title="Neu")


def test_two_open_fields_may_not_share_a_title() -> None:
    n = fields()
    n.propose(HAMM, "Inklusion", "a", "b")
    with pytest.raises(Conflict) as error:
        n.propose(HAMM, "inklusion", "c", "d")
    assert error.value.field == "title"


def test_a_field_keeps_its_own_title_and_may_change_its_case() -> None:
    n = fields()
    field = n.propose(HAMM, "Inklusion", "a", "b")
    other = n.propose(HAMM, "Ganztag", "c", "d")
    n.take_events()
    assert update_field(n, field, 1, title="Inklusion").version == 1
    assert types(n) == []
    assert update_field(n, field, 1, title="INKLUSION").title == "INKLUSION"
    assert types(n) == ["field-of-action-updated"]
    with pytest.raises(Conflict) as error:
        update_field(n, other, 1, title="inklusion")
    assert error.value.field == "title"


def test_unknown_entities_are_not_found() -> None:
    with pytest.raises(NotFound, match="no committee member mem-x"):
        committee().remove_member(HAMM, "mem-x", D(2026, 1, 1), "x", None)


def test_district_coordination_changes_only_when_different() -> None:
    coordinator = person("koordination@bezreg.example", "Dr. Beispiel")
    unit = ServiceUnit(name="Servicestelle", email="service@bezreg.example")
    district = DistrictCoordination.establish(coordinator, unit)
    assert [e.event_type for e in district.take_events()] == ["district-coordination-changed"]
    assert district.change(coordinator, unit) is False
    assert district.take_events() == []


def test_a_bulletin_needs_networks_to_reach() -> None:
    author = person("koordination@bezreg.example")
    with pytest.raises(RuleViolation):
        prepare_bulletin("b1", "Erlass", "Text", D(2026, 1, 1), author, [])
    bulletin = prepare_bulletin("b1", "Erlass", "Text", D(2026, 1, 1), author, ["herne", "hagen"])
    assert bulletin.published_event().network_ids == ["hagen", "herne"]
