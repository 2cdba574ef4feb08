"""The network projection's fold, Berlin times, German wording and response links."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from conferences.adapters.documents import view_from_document, view_to_document
from conferences.adapters.links import InvalidLink, ResponseLinks
from conferences.domain.local_time import NonexistentLocalTime, berlin_to_utc, german_span
from conferences.domain.projection import EventFacts, NetworkView
from rbn_shared.events.base import NetworkRef, Person, Side
from rbn_shared.events.registry import (
    CommitteeMemberAdded,
    CommitteeMemberRemoved,
    CommitteeRole,
    CooperationAgreementSigned,
    CooperationAgreementTerminated,
)

REF = NetworkRef(id="hamm", name="Bildungsnetzwerk Hamm", office_email="buero@example.org")
AT = datetime(2027, 1, 1, tzinfo=UTC)


def facts(type_: str, aggregate_id: str, version: int) -> EventFacts:
    return EventFacts(type_, aggregate_id, version, AT)


def member(cls: type[CommitteeMemberAdded], name: str = "Anna") -> CommitteeMemberAdded:
    return cls(
        network=REF,
        member_id="m1",
        person=Person(name=name, email="anna@example.org"),
        side=Side.STATE,
        role=CommitteeRole.MEMBER,
        term_start=date(2024, 1, 1),
    )


def test_stale_and_repeated_events_change_nothing() -> None:
    view = NetworkView("hamm")
    assert view.apply(facts("committee-member-added", "m1", 1), member(CommitteeMemberAdded))
    removed = CommitteeMemberRemoved(
        **member(CommitteeMemberAdded).model_dump(), removed_on=date(2026, 1, 1), reason="x"
    )
    assert view.apply(facts("committee-member-removed", "m1", 2), removed)
    assert view.committee == {}
    # The "added" again (a redelivery), and an older version: both ignored.
    assert not view.apply(facts("committee-member-added", "m1", 1), member(CommitteeMemberAdded))
    assert view.committee == {}


def test_the_fold_keeps_a_members_term_and_the_document_round_trip_too() -> None:
    view = NetworkView("hamm")
    ending = member(CommitteeMemberAdded).model_copy(update={"term_end": date(2027, 6, 30)})
    assert view.apply(facts("committee-member-added", "m1", 1), ending)
    stored = view_from_document(view_to_document(view))
    assert stored.committee_people(on=date(2027, 6, 30)).keys() == {"m1"}
    assert stored.committee_people(on=date(2027, 7, 1)) == {}
    assert stored.committee_people(on=date(2023, 12, 31)).keys() == {"m1"}, "incoming: invited"
    assert stored.committee_people().keys() == {"m1"}, "without a day: every member"


def test_agreement_signed_then_terminated() -> None:
    view = NetworkView("hamm")
    signed = CooperationAgreementSigned(
        network=REF, agreement_id="kv", signed_on=date(2024, 1, 1), valid_from=date(2024, 1, 1)
    )
    view.apply(facts("cooperation-agreement-signed", "kv", 1), signed)
    assert view.agreement_active
    terminated = CooperationAgreementTerminated(
        network=REF,
        agreement_id="kv",
        signed_on=date(2024, 1, 1),
        terminated_on=date(2026, 6, 30),
        reason="Neuverhandlung",
    )
    view.apply(facts("cooperation-agreement-terminated", "kv", 2), terminated)
    assert not view.agreement_active


def test_view_survives_the_document_round_trip_with_awkward_ids() -> None:
    view = NetworkView("hamm", name="Hamm", versions={"committee:a.b$c": 3})
    view.committee["a.b$c"] = {"person": {"name": "X", "email": "x@example.org"}}
    assert view_from_document(view_to_document(view)) == view


def test_berlin_local_times_become_utc() -> None:
    winter = berlin_to_utc(datetime(2027, 3, 10, 14, 0))
    summer = berlin_to_utc(datetime(2027, 7, 10, 14, 0))
    assert winter == datetime(2027, 3, 10, 13, 0, tzinfo=UTC)
    assert summer == datetime(2027, 7, 10, 12, 0, tzinfo=UTC)
    with pytest.raises(NonexistentLocalTime):
        berlin_to_utc(datetime(2027, 3, 28, 2, 30))


def test_german_span_reads_like_the_mails() -> None:
    start = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)
    assert german_span(start, start + timedelta(hours=3)) == (
        "Mittwoch, 10. März 2027, 14:00–17:00 Uhr"
    )


def test_response_links_refuse_forged_altered_and_expired_tokens() -> None:
    links = ResponseLinks("secret", "https://konferenzen.example.org/", timedelta(days=1))
    ends = AT + timedelta(days=30)
    token = links.token("c1", "inv-1", conference_ends_at=ends)
    claims = links.verify(token, now=ends + timedelta(hours=23))
    assert (claims.conference_id, claims.invitation_id) == ("c1", "inv-1")
    url = links.url("c1", "inv-1", conference_ends_at=ends)
    assert url.startswith("https://konferenzen.example.org/respond/")
    assert url == links.url("c1", "inv-1", conference_ends_at=ends), "the same link every time"
    assert url != links.url("c1", "inv-1", conference_ends_at=ends + timedelta(days=7))
    with pytest.raises(InvalidLink):
        links.verify(token, now=ends + timedelta(days=1))
    with pytest.raises(InvalidLink):
        links.verify(token[:-2] + "xx", now=AT)
    other = ResponseLinks("another secret", "https://x.example.org", timedelta(days=1))
    with pytest.raises(InvalidLink):
        links.verify(other.token("c1", "inv-1", conference_ends_at=ends), now=AT)
