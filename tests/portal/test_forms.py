"""The portal's pure parts: forms to request bodies, problem documents to German messages beside
the fields, German dates and answers, and what production refuses in its settings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.domain import forms, german
from portal.domain.forms import Problems, conference_body, member_body
from portal.settings import PortalSettings
from rbn_shared.settings import ProductionSettingsError


def test_a_member_form_becomes_the_registry_body_without_empty_fields() -> None:
    body = member_body(
        {
            "person.name": "  Petra Neumann ",
            "person.email": "p.neumann@schule.example",
            "person.function": "",
            "side": "municipality",
            "role": "member",
            "supervision": "",
            "term_start": "2027-01-01",
            "csrf": "x",
        }
    )
    assert body == {
        "person": {"name": "Petra Neumann", "email": "p.neumann@schule.example"},
        "side": "municipality",
        "role": "member",
        "term_start": "2027-01-01",
    }


def test_a_conference_form_is_a_draft_in_local_time() -> None:
    body = conference_body(
        {
            "title": "Konferenz",
            "kind": "plenary",
            "day": "2027-03-10",
            "start": "14:00",
            "end": "17:00",
            "venue.name": "Rathaus",
            "venue.address": "",
            "capacity": "40",
        },
        "bochum",
    )
    assert body["draft"] is True
    assert body["network_id"] == "bochum"
    assert (body["starts_at"], body["ends_at"]) == ("2027-03-10T14:00", "2027-03-10T17:00")
    assert body["venue"] == {"name": "Rathaus", "address": ""}  # for the API to ask for it
    assert body["capacity"] == 40


def test_a_conference_form_without_a_day_leaves_the_times_out_for_the_api_to_name() -> None:
    body = conference_body({"title": "K", "start": "14:00", "end": "17:00"}, "bochum")
    assert "starts_at" not in body
    assert "ends_at" not in body


def test_field_errors_land_beside_their_fields_in_german() -> None:
    problems = Problems.of(
        422,
        {
            "errors": [
                {"field": "person.email", "reason": "value is not a valid email address"},
                {"field": "starts_at", "reason": "Field required"},
                {"field": "elsewhere", "reason": "strange"},
            ]
        },
        {"person.email", "start"},
    )
    assert problems.fields == {
        "person.email": "Bitte eine gültige E-Mail-Adresse angeben, z. B. name@schule.de.",
        "start": "Bitte ausfüllen.",
    }
    assert problems.general == ["Bitte prüfen: strange"]


def test_a_version_conflict_says_changed_meanwhile_and_to_reload() -> None:
    problems = Problems.of(409, {"detail": "member m-1 is at version 4, not 3"}, set())
    assert not problems.fields
    [message] = problems.general
    assert "inzwischen geändert" in message
    assert "neu" in message


@pytest.mark.parametrize(
    ("invitation", "shown"),
    [
        ({"response": "pending"}, "offen"),
        ({"response": "accepted"}, "zugesagt"),
        ({"response": "declined"}, "abgesagt"),
        ({"response": "tentative"}, "unter Vorbehalt"),
        (
            {"response": "accepted", "waitlisted": True, "waitlist_position": 2},
            "Warteliste (Platz 2)",
        ),
        ({"response": "accepted", "undeliverable": True}, "unzustellbar"),
    ],
)
def test_an_answer_in_german(invitation: dict[str, object], shown: str) -> None:
    assert german.answer(invitation) == shown


def test_dates_in_german_and_berlin_time() -> None:
    assert german.day("2027-03-10") == "10.03.2027"
    assert german.long_day(date(2027, 3, 10)) == "Mittwoch, 10. März 2027"
    assert german.moment(datetime(2027, 7, 1, 12, 0, tzinfo=UTC)) == "01.07.2027, 14:00 Uhr"
    assert german.day(None) == ""


def test_a_report_week_is_named_by_its_days_in_berlin() -> None:
    # Monday 07:00 to Monday 07:00 (winter time): the week is Monday to Sunday.
    named = german.week("2026-11-23T07:00:00+01:00", "2026-11-30T06:00:00+00:00")
    assert named == "Woche vom 23.11.2026 bis 29.11.2026"
    assert german.berlin_day("2026-11-29T23:30:00+00:00") == date(2026, 11, 30)


def test_production_refuses_the_development_session_secret_and_public_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RBN_ENVIRONMENT", "production")
    monkeypatch.setenv("RBN_OIDC_ISSUER", "https://login.example/realms/rbn")
    monkeypatch.setenv("RBN_OIDC_AUDIENCE", "rbn-api")
    with pytest.raises(ProductionSettingsError) as refused:
        PortalSettings().check_environment()
    assert set(refused.value.variables) == {
        "PORTAL_PUBLIC_URL",
        "PORTAL_SESSION_SECRET",
        "RBN_IMPRINT_URL",
        "RBN_PRIVACY_NOTICE_URL",
    }
    monkeypatch.setenv("PORTAL_PUBLIC_URL", "https://portal.example")
    monkeypatch.setenv("PORTAL_SESSION_SECRET", "s" * 48)
    monkeypatch.setenv("RBN_IMPRINT_URL", "https://bezirk.example/impressum")
    monkeypatch.setenv("RBN_PRIVACY_NOTICE_URL", "https://bezirk.example/datenschutz")
    PortalSettings().check_environment()


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        (
            "p@x.example is already a member of the steering committee of Bochum",
            "Diese Person gehört dem Lenkungskreis schon an.",
        ),
        (
            "only the Land's regional coordination has a supervision level",
            "Eine Schulaufsicht gibt es nur auf der Seite des Landes NRW.",
        ),
        (
            "the end of the term must not lie before 2027-01-01",
            "Die Amtszeit kann nicht vor ihrem Beginn enden.",
        ),
    ],
)
def test_the_registrys_committee_rules_in_german(reason: str, shown: str) -> None:
    assert german.reason(reason) == shown


def test_every_page_links_the_operators_impressum_and_datenschutz_when_set() -> None:
    from fastapi.testclient import TestClient

    from portal.bootstrap import build
    from rbn_shared.settings import AuthSettings, LegalSettings

    auth = AuthSettings(environment="development", oidc_issuer="http://127.0.0.1:8080/realms/rbn")
    legal = LegalSettings(
        imprint_url="https://bezirk.example/impressum",
        privacy_notice_url="https://bezirk.example/datenschutz",
    )
    with TestClient(build(PortalSettings(auth=auth, legal=legal))) as portal:
        page = portal.get("/abgemeldet").text
    assert '<a href="https://bezirk.example/impressum">Impressum</a>' in page
    assert '<a href="https://bezirk.example/datenschutz">Datenschutz</a>' in page
    with TestClient(build(PortalSettings(auth=auth))) as portal:
        assert "Impressum" not in portal.get("/abgemeldet").text


def test_a_guest_needs_a_name_an_address_and_whom_they_speak_for() -> None:
    problems = forms.guest_problems({"name": " ", "email": "", "group": "steering_committee"})
    assert set(problems.fields) == {"name", "email", "group"}
    posted = {
        "name": " Emil Hoffmann ",
        "email": "e.hoffmann@jugendamt.example",
        "institution": "",
        "group": "youth_welfare",
    }
    assert not forms.guest_problems(posted)
    assert forms.guest_body(posted) == {
        "name": "Emil Hoffmann",
        "email": "e.hoffmann@jugendamt.example",
        "group": "youth_welfare",
    }


def test_an_address_already_invited_is_said_beside_the_address() -> None:
    already = {
        "type": "urn:rbn-arnsberg:problem:already-invited",
        "title": "Already invited",
        "status": 409,
        "detail": "e.hoffmann@jugendamt.example is already invited.",
    }
    assert forms.guest_refused(409, already).fields == {
        "email": "Diese Adresse ist bereits eingeladen."
    }
    invalid = {"status": 422, "errors": [{"field": "email", "reason": "value is not valid"}]}
    assert "email" in forms.guest_refused(422, invalid).fields
