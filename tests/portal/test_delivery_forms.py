"""The deliveries page's pure parts: failed mails first, their reason in German, whose address a
correction changes, and the merge patch it sends."""

from __future__ import annotations

from typing import Any

from portal.domain import german
from portal.domain.forms import correction_body, correction_problems, correction_refused
from portal.entrypoints.delivery_pages import (
    NoTarget,
    Target,
    arranged,
    in_order,
    is_conflict,
    same_address,
    target_of,
)


def _delivery(id_: str, status: str, created: str, **more: Any) -> dict[str, Any]:
    return {
        "delivery_id": id_,
        "status": status,
        "created_at": created,
        "recipient": "k.weber@gesamtschule.example.org",
        "network_id": "bochum",
        **more,
    }


def test_failed_deliveries_come_first_the_latest_failure_first_then_the_rest_newest_first() -> None:
    items = [
        _delivery("a", "sent", "2027-01-01T10:00:00Z"),
        _delivery("b", "failed", "2027-01-01T09:00:00Z", failed_at="2027-01-01T09:05:00Z"),
        _delivery("c", "pending", "2027-01-03T10:00:00Z"),
        _delivery("d", "failed", "2027-01-02T09:00:00Z", failed_at="2027-01-02T09:05:00Z"),
        _delivery("e", "skipped", "2027-01-02T10:00:00Z"),
    ]
    assert [d["delivery_id"] for d in in_order(items)] == ["d", "b", "c", "e", "a"]


def test_a_failed_delivery_on_the_page_is_shown_once_in_the_first_table() -> None:
    failed = [_delivery("b", "failed", "2027-01-01T09:00:00Z", failed_at="2027-01-01T09:05:00Z")]
    page = [failed[0], _delivery("a", "sent", "2027-01-01T10:00:00Z")]
    first, rest = arranged(failed, page)
    assert [d["delivery_id"] for d in first] == ["b"]
    assert [d["delivery_id"] for d in rest] == ["a"]


def test_the_reasons_are_said_in_german() -> None:
    refused = "recipient refused: 550 5.1.1 mailbox does not exist"
    assert "gibt es nicht" in german.delivery_reason(refused)
    assert "Tippfehler" in german.delivery_reason(refused)
    assert "nicht gültig" in german.delivery_reason("address refused: no real domain")
    assert "Postfach ist voll" in german.delivery_reason("recipient refused: 552 quota exceeded")
    assert "aufgegeben" in german.delivery_reason(
        "ConnectionRefusedError: [Errno 111] (gave up after 8 attempts)"
    )
    assert "System" in german.delivery_reason("could not compose the mail: KeyError: 'x'")
    assert "Sonderzeichen" in german.delivery_reason(
        "the mail server does not support SMTPUTF8, which the address needs"
    )
    assert german.delivery_reason(None) == "Der Mailserver hat keinen Grund genannt."
    assert german.delivery_reason("something else") == "Die Mail konnte nicht zugestellt werden."
    assert german.DELIVERY_STATUS["failed"] == "nicht zugestellt"
    assert german.MAIL_KIND["committee-welcome"] == "Begrüßung im Lenkungskreis"


def test_the_correction_is_a_merge_patch_of_only_the_address() -> None:
    form = {"email": "  k.weber@gesamtschule.example ", "csrf": "x", "version": "3"}
    assert correction_body(form, "member") == {"person": {"email": "k.weber@gesamtschule.example"}}
    assert correction_body(form, "delegate") == {"email": "k.weber@gesamtschule.example"}


def test_the_correction_needs_a_new_address() -> None:
    old = "K.Weber@gesamtschule.example.org"
    assert correction_problems({"email": " "}, old).fields["email"].startswith("Bitte")
    assert "nicht zugestellt" in correction_problems({"email": old.lower()}, old).fields["email"]
    assert not correction_problems({"email": "k.weber@gesamtschule.example"}, old)


def test_the_registrys_refusal_of_person_email_is_shown_beside_the_one_field() -> None:
    body = {"errors": [{"field": "person.email", "reason": "value is not a valid email address"}]}
    problems = correction_refused(422, body)
    assert problems.fields == {"email": german.reason("not a valid email")}
    assert not problems.general
    conflict = correction_refused(409, {"type": "https://x/problems/version-conflict"})
    assert "inzwischen geändert" in conflict.general[0]


def test_only_a_version_conflict_is_a_conflict() -> None:
    assert is_conflict(409, {"type": "https://rbn.example/problems/version-conflict"})
    assert not is_conflict(409, {"type": "https://rbn.example/problems/already-invited"})
    assert not is_conflict(422, {})


MEMBER = {
    "id": "m1",
    "version": 2,
    "person": {"name": "Karl Weber", "email": "k.weber@gesamtschule.example.org"},
    "removed_on": None,
}


def test_a_committee_members_welcome_is_corrected_in_the_registry() -> None:
    delivery = _delivery("a", "failed", "2027-01-01T10:00:00Z", template="committee-welcome")
    assert target_of(delivery, [MEMBER]) == Target(
        "member",
        "/networks/bochum/committee/members/m1",
        2,
        "Karl Weber",
        "k.weber@gesamtschule.example.org",
    )


def test_an_external_delegates_invitation_is_corrected_in_the_conferences_service() -> None:
    delivery = _delivery(
        "a", "failed", "2027-01-01T10:00:00Z", conference_id="c1", invitation_id="i1"
    )
    conference = {
        "id": "c1",
        "invitations": [
            {
                "invitation_id": "i1",
                "name": "Dora Yilmaz",
                "email": "K.Weber@gesamtschule.example.org",
                "source": "external",
            }
        ],
    }
    target = target_of(delivery, [], conference, 7)
    assert target == Target(
        "delegate",
        "/conferences/c1/invitations/i1",
        7,
        "Dora Yilmaz",
        "k.weber@gesamtschule.example.org",
    )
    staff = {**conference["invitations"][0], "source": "staff:s1"}  # type: ignore[dict-item]
    assert isinstance(target_of(delivery, [], {**conference, "invitations": [staff]}), NoTarget)


def test_an_address_corrected_meanwhile_or_a_removed_member_gets_no_form() -> None:
    delivery = _delivery("a", "failed", "2027-01-01T10:00:00Z")
    corrected = {**MEMBER, "person": {"name": "Karl Weber", "email": "k.weber@neu.example"}}
    assert isinstance(target_of(delivery, [corrected]), NoTarget)
    removed = {**MEMBER, "removed_on": "2027-01-05"}
    assert "nicht mehr" in target_of(delivery, [removed]).why  # type: ignore[union-attr]
    assert isinstance(target_of(delivery, None), NoTarget)


def test_addresses_are_the_same_however_written() -> None:
    assert same_address("Jana@Schule-Müller.example", "jana@xn--schule-mller-klb.example")
    assert not same_address("a@b.example", None)
