"""Anonymising a person on the pure domain model: seats and posts keep their structure and
dates, names and addresses give way to the person's placeholder; retention spares whoever still
works with the network."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rbn_shared.events import Person
from rbn_shared.events.base import Side
from rbn_shared.events.registry import CommitteeRole, Employer, PersonErased, ServiceUnit
from rbn_shared.privacy import ERASED_NAME, erased_address, mentions, subject_of
from registry.domain import model
from registry.domain.district import Bulletin, DistrictCoordination
from registry.domain.privacy import (
    ERASED_REASON,
    DataSubject,
    ErasureRecord,
    Trace,
    retention_cutoff,
)

D = date
ANNA = Person(
    name="Anna Schmidt",
    email="anna.schmidt@schule.example",
    organisation="Schulamt Hamm",
    function="Schulrätin",
)
BEN = Person(name="Ben Kaya", email="ben.kaya@schule.example")
PERSON = DataSubject.of("Anna.Schmidt@Schule.example")  # any spelling of the address


def seat(member_id: str, who: Person, removed_on: date | None = None) -> model.CommitteeMember:
    return model.CommitteeMember(
        id=member_id,
        person=who,
        side=Side.STATE,
        role=CommitteeRole.CHAIR,
        term_start=D(2024, 1, 1),
        term_end=D(2026, 12, 31),
        removed_on=removed_on,
        removal_reason="Ruhestand von Anna Schmidt" if removed_on else None,
    )


def post(staff_id: str, who: Person, ended: date | None = None) -> model.OfficeStaff:
    return model.OfficeStaff(
        id=staff_id,
        person=who,
        employer=Employer.STATE,
        released_from_school="Gymnasium Hamm",
        hours_share=0.5,
        start_date=D(2023, 8, 1),
        end_date=ended,
        removal_reason="Versetzung" if ended else None,
    )


def committee() -> model.Committee:
    return model.Committee(
        network_id="hamm",
        members=[
            seat("mem-1", ANNA, removed_on=D(2025, 3, 1)),
            seat("mem-2", ANNA),
            seat("mem-3", BEN),
        ],
    )


def test_every_seat_of_the_address_is_anonymised_in_place_and_kept() -> None:
    part = committee()
    assert sorted(part.erase(PERSON)) == ["mem-1", "mem-2"]
    removed, current, other = (part.member(i) for i in ("mem-1", "mem-2", "mem-3"))
    assert part.former == [removed]  # who left is former (stored apart), anonymised as well
    for member in (removed, current):
        assert member.person == Person(name=ERASED_NAME, email=erased_address(PERSON.subject))
        assert (member.side, member.role, member.term_start) == (
            Side.STATE,
            CommitteeRole.CHAIR,
            D(2024, 1, 1),
        )
        assert member.version == 2  # a new ETag
    assert removed.removed_on == D(2025, 3, 1)  # held from-to
    assert removed.removal_reason == ERASED_REASON
    assert current.active
    assert current.removal_reason is None
    assert other.person == BEN
    everyone = [m.model_dump(mode="json") for m in (*part.members, *part.former)]
    assert not mentions(everyone, [ANNA.name, ANNA.email])
    assert sorted(m.id for m in part.seats_of(PERSON)) == ["mem-1", "mem-2"]  # still theirs


def test_erasing_again_changes_nothing() -> None:
    part = committee()
    part.erase(PERSON)
    before = part.model_copy(deep=True)
    assert part.erase(PERSON) == []
    assert part == before


def test_an_office_post_loses_the_school_and_keeps_its_dates_and_its_end() -> None:
    office = model.Office(
        network_id="hamm", staff=[post("stf-1", ANNA, ended=D(2025, 7, 31)), post("stf-2", BEN)]
    )
    assert office.erase(PERSON) == ["stf-1"]
    ended = office.member("stf-1")
    assert office.former == [ended]
    assert ended.person.name == ERASED_NAME
    assert ended.released_from_school is None
    assert (ended.start_date, ended.end_date, ended.hours_share) == (
        D(2023, 8, 1),
        D(2025, 7, 31),
        0.5,
    )
    assert not ended.active  # it ended, and stays ended
    assert office.member("stf-2").released_from_school == "Gymnasium Hamm"


def test_the_district_coordination_and_a_bulletin_author_are_anonymised() -> None:
    unit = ServiceUnit(name="Servicestelle", email=ANNA.email, phone="02931 82-0")
    district = DistrictCoordination(coordinator=ANNA, service_unit=unit)
    assert district.roles_of(PERSON) == ["coordinator", "service-unit"]
    assert district.erase(PERSON)
    assert district.coordinator.name == ERASED_NAME
    assert district.service_unit == ServiceUnit(
        name=ERASED_NAME, email=erased_address(PERSON.subject)
    )
    assert not district.erase(PERSON)
    assert district.roles_of(PERSON) == ["coordinator", "service-unit"]
    bulletin = Bulletin(
        id="bul-1", title="T", body="B", published_on=D(2026, 1, 1), author=ANNA, network_ids=[]
    )
    assert bulletin.erase(PERSON)
    assert bulletin.author.name == ERASED_NAME


def test_the_erasure_record_and_its_event_carry_only_ids_and_the_subject() -> None:
    at = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    trace = Trace(frozenset({"hamm"}), frozenset({"mem-2", "mem-1"}), frozenset())
    erasure, [event] = ErasureRecord.record("era-1", PERSON, at, trace)
    assert isinstance(event, PersonErased)
    assert event.subject == subject_of(ANNA.email) == erasure.subject
    assert (event.network_ids, event.member_ids, event.staff_ids) == (
        ["hamm"],
        ["mem-1", "mem-2"],
        [],
    )
    assert not mentions(event.model_dump(mode="json"), [ANNA.name, ANNA.email])


def test_retention_takes_what_ended_before_the_cutoff_unless_the_person_is_still_there() -> None:
    old, recent = D(2023, 1, 1), D(2026, 1, 1)
    ben_old = Person(name="Ben Kaya", email="ben.kaya@schule.example")
    cara = Person(name="Cara Roth", email="cara.roth@schule.example")
    part = model.Committee(
        network_id="hamm",
        members=[
            seat("mem-1", ANNA, removed_on=old),  # Anna left long ago and is gone
            seat("mem-2", ben_old, removed_on=old),  # Ben left long ago but is back
            seat("mem-3", BEN),
            seat("mem-4", cara, removed_on=recent),  # Cara left recently
        ],
    )
    office = model.Office(network_id="hamm", staff=[post("stf-1", cara, ended=old)])
    cutoff = retention_cutoff(datetime(2026, 6, 1, tzinfo=UTC), 730)
    assert cutoff == D(2024, 6, 1)
    seats, posts = model.past_their_retention(part, office, cutoff)
    assert [s.id for s in seats] == ["mem-1"]
    assert [p.id for p in posts] == ["stf-1"]  # Cara's old post: she holds no current one
    part.erase(DataSubject.of(ANNA.email), only={"mem-1"})
    seats, _ = model.past_their_retention(part, office, cutoff)
    assert seats == []  # anonymised ones are not taken again
