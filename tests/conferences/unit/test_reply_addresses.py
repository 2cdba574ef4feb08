"""Calendar reply addresses: signed like the response links, short enough for a local part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conferences.adapters.links import InvalidReply, ReplyAddresses, ResponseLinks

ENDS = datetime(2027, 3, 10, 16, 0, tzinfo=UTC)
BEFORE = ENDS - timedelta(days=30)


SECRET = "secret"


def replies(secret: str = SECRET) -> ReplyAddresses:
    return ReplyAddresses(secret, "Antworten.RBN.example", timedelta(days=1))


def token_of(address: str) -> str:
    return address.split("@")[0].removeprefix("antwort+")


def test_an_address_names_its_invitation_and_verifies() -> None:
    address = replies().address("a1b2c3d4e5f6", "inv-17", conference_ends_at=ENDS)
    assert address is not None
    local, domain = address.split("@")
    assert domain == "antworten.rbn.example"
    assert len(local) <= 64, "a local part holds at most 64 characters"
    assert local == local.lower(), "servers may change the case of a local part"
    claims = replies().verify(token_of(address), now=BEFORE)
    assert (claims.conference_id, claims.invitation_id) == ("a1b2c3d4e5f6", "inv-17")
    assert claims.expires_at == ENDS + timedelta(days=1)
    assert replies().verify(token_of(address).upper(), now=BEFORE) == claims


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "no-token"),
        ("", "no-token"),
        ("garbage", "malformed-token"),
        ("a.b.c.d.e", "malformed-token"),
        ("a1b2c3d4e5f6.inv-1.zzzz.aaaaaaaaaaaaaaaa", "bad-signature"),
        ("a1b2c3d4e5f6.inv-1.zz@z.aaaa", "malformed-token"),
    ],
)
def test_a_token_not_issued_here_is_refused_with_its_reason(token: str | None, reason: str) -> None:
    with pytest.raises(InvalidReply) as refused:
        replies().verify(token, now=BEFORE)
    assert refused.value.reason == reason


def test_changing_the_conference_invitation_or_secret_breaks_the_signature() -> None:
    token = token_of(replies().address("a1b2c3d4e5f6", "inv-1", conference_ends_at=ENDS) or "")
    conference, invitation, expiry, signature = token.split(".")
    for forged in (
        f"ffffffffffff.{invitation}.{expiry}.{signature}",
        f"{conference}.inv-2.{expiry}.{signature}",
        f"{conference}.{invitation}.zzzzzz.{signature}",
    ):
        with pytest.raises(InvalidReply, match="bad-signature"):
            replies().verify(forged, now=BEFORE)
    with pytest.raises(InvalidReply, match="bad-signature"):
        replies("another secret").verify(token, now=BEFORE)


def test_a_token_expires_after_its_conference() -> None:
    token = token_of(replies().address("a1b2c3d4e5f6", "inv-1", conference_ends_at=ENDS) or "")
    with pytest.raises(InvalidReply, match="expired"):
        replies().verify(token, now=ENDS + timedelta(days=2))


def test_a_response_link_is_no_reply_token_and_no_domain_issues_no_address() -> None:
    link = ResponseLinks("secret", "https://k.example", timedelta(days=1))
    with pytest.raises(InvalidReply):
        replies().verify(link.token("a1b2c3d4e5f6", "inv-1", conference_ends_at=ENDS), now=BEFORE)
    off = ReplyAddresses("secret", None, timedelta(days=1))
    assert not off.issues_addresses
    assert off.address("a1b2c3d4e5f6", "inv-1", conference_ends_at=ENDS) is None
