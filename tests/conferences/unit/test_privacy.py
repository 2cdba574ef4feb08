"""Erasure and retention in the domain: copies anonymised in place, counts kept, nobody mailed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from conferences.bootstrap import build
from conferences.domain.model import Conference, DeliveryProblem
from conferences.domain.privacy import contact_addresses, scrubbed
from conferences.settings import ConferencesSettings
from rbn_shared.events.conferences import ParticipantInvited, Response
from rbn_shared.privacy import ERASED_NAME, erased_address, is_erased_address, subject_of
from tests.conferences.unit.test_conference import DAY, NOW, draft, network, scheduled

ANNA = subject_of("Anna@Example.org")  # the subject ignores the address's case


def test_erasure_anonymises_the_invitation_and_keeps_answer_and_counts() -> None:
    conference = scheduled(capacity=1)
    anna = next(i for i in conference.invitations if i.person.name == "Anna Schulte")
    conference.respond(anna.invitation_id, Response.ACCEPTED, now=NOW)
    anna.delivery_problem = DeliveryProblem("550 anna@example.org unknown", NOW, "anna@example.org")
    counts, undeliverable = conference.counts(), conference.undeliverable_count()

    [before] = conference.erase(ANNA)

    assert before.name == "Anna Schulte"
    assert anna.person.name == ERASED_NAME
    assert anna.person.email == erased_address(ANNA)
    assert anna.person.organisation is None
    assert anna.response == Response.ACCEPTED
    assert anna.delivery_problem is not None
    assert "anna" not in repr(anna.delivery_problem)
    assert (conference.counts(), conference.undeliverable_count()) == (counts, undeliverable)
    # Nobody mails the placeholder: it is left out of the invitees and the reminders.
    assert all(not is_erased_address(str(i.person.email)) for i in conference.invitees())
    [reminder] = conference.claim_due_reminders(conference.starts_at - timedelta(seconds=DAY))
    assert "Anna" not in reminder.model_dump_json()
    assert ERASED_NAME not in reminder.model_dump_json()
    # The same erasure again finds nothing.
    assert conference.erase(ANNA) == []


def test_a_conference_planned_after_the_erasure_invites_nobody_to_the_anonymised_seat() -> None:
    view = network()
    assert [p.name for p in view.erase(ANNA)] == ["Anna Schulte"]
    assert view.erase(ANNA) == []
    assert view.committee["m1"]["role"] == "chair"  # the seat stays
    conference, events = Conference.schedule("c1", draft(), view, [], now=NOW, reminder_offsets=[])
    assert "Anna" not in events[0].model_dump_json()
    assert not [i for i in conference.invitations if i.erased], "nobody invited, nobody counted"
    assert not [e for e in conference.sync_roster(view) if isinstance(e, ParticipantInvited)]


def test_a_conference_already_anonymised_stays_quiet_when_the_projection_is() -> None:
    conference = scheduled()
    conference.erase(ANNA)
    view = network()
    view.erase(ANNA)
    assert conference.sync_roster(view) == []


def test_payload_scrubbing_replaces_the_contact_and_nothing_else() -> None:
    payload = {
        "network": {"id": "hamm", "office_email": "buero@example.org"},
        "person": {"name": "Anna Schulte", "email": "anna@example.org", "organisation": "Amt"},
    }
    assert contact_addresses(payload) == {"anna@example.org"}
    assert scrubbed(payload, [ANNA]) == {
        "network": {"id": "hamm", "office_email": "buero@example.org"},
        "person": {"name": ERASED_NAME, "email": erased_address(ANNA)},
    }
    assert scrubbed(payload, [subject_of("other@example.org")]) == payload


def test_retention_forgets_the_invitees_only_once_the_time_is_over() -> None:
    conference = scheduled()
    conference.respond(conference.invitations[0].invitation_id, Response.DECLINED, now=NOW)
    counts = conference.counts()
    retention = timedelta(days=730)
    assert conference.forget_invitees(conference.ends_at + retention, retention) == 0
    assert (
        conference.forget_invitees(conference.ends_at + retention + timedelta(days=1), retention)
        == 3
    )
    assert all(i.person.name == ERASED_NAME for i in conference.invitations)
    assert conference.counts() == counts
    assert conference.forget_invitees(conference.ends_at + 2 * retention, retention) == 0


def test_a_draft_is_never_forgotten_by_retention() -> None:
    conference, _ = Conference.prepare("c1", draft(), network(), now=NOW)
    assert (
        conference.forget_invitees(conference.ends_at + timedelta(days=9999), timedelta(days=1))
        == 0
    )


def test_the_public_pages_link_the_legal_notices_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RBN_IMPRINT_URL", "https://rbn.example/impressum")
    monkeypatch.setenv("RBN_PRIVACY_NOTICE_URL", "https://rbn.example/datenschutz")
    page = TestClient(build(ConferencesSettings()).app).get("/respond/not-a-token")
    assert page.status_code == 403
    assert '<a href="https://rbn.example/impressum">Impressum</a>' in page.text
    assert '<a href="https://rbn.example/datenschutz">Datenschutz</a>' in page.text


def test_without_legal_notices_the_page_links_none() -> None:
    page = TestClient(build(ConferencesSettings()).app).get("/respond/not-a-token")
    assert "Impressum" not in page.text


def test_retention_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ConferencesSettings().personal_data_retention_days == 730
    monkeypatch.setenv("CONFERENCES_PERSONAL_DATA_RETENTION_DAYS", "30")
    assert build(ConferencesSettings()).privacy.retention == timedelta(days=30)


def test_a_view_read_before_the_erasure_does_not_bring_the_person_back() -> None:
    conference = scheduled()
    conference.erase(ANNA)
    assert conference.sync_roster(network()) == []  # the view still names Anna
    assert "Anna" not in repr(conference.invitations)
