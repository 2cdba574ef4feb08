"""The address policy of the whole system, in one place (with the email-validator library).

An address is accepted where it enters (the registry, the conferences' delegates, preferences)
and stored in one canonical form, so the same mailbox is always the same text:

- no display name, no angle brackets, no white space or control characters;
- internationalised domains are accepted (typed in Unicode or as IDNA "xn--" labels, both give
  the same address) and kept in Unicode, as people read them;
- internationalised local parts (``müller@schule.de``) are accepted; they can be sent only to a
  server that offers SMTPUTF8, otherwise that one delivery fails with the reason;
- the whole address in lower case and NFC (mailboxes of the schools' and authorities' servers
  do not distinguish case; comparing and de-duplicating needs one spelling).

For SMTP, `sendable()` gives the ASCII form (the domain as IDNA) or says that SMTPUTF8 is needed.
Event payloads carry the canonical form; readers should not assume ASCII.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field

MAX_ADDRESS_LENGTH = 254  # RFC 5321's limit for a forward path, less the angle brackets


class AddressRefused(ValueError):
    """Not an address the system accepts; the message says why, for the person who typed it."""


def _has_control_or_space(text: str) -> bool:
    return any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)


def canonical_address(raw: str) -> str:
    """The canonical form of an address typed by a person, or AddressRefused with the reason."""
    if not isinstance(raw, str):
        raise AddressRefused("an address must be text")
    return _canonical_text(raw)


# Validating an address costs more than composing the rest of a mail's headers, and one mail
# asks for the same address several times (recipient, calendar, SMTP envelope): the answers for
# the addresses seen last are kept, in this process's memory only (never stored or logged).
# A refused address is not kept: it raises each time.
ADDRESSES_KEPT = 1024


@functools.lru_cache(maxsize=ADDRESSES_KEPT)
def _canonical_text(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw).strip()
    if "<" in text or ">" in text:
        raise AddressRefused(
            "give the address alone, without a name or angle brackets (e.g. anna@schule.de)"
        )
    if _has_control_or_space(text):
        raise AddressRefused(
            "an address must not contain spaces, line breaks or control characters"
        )
    if len(text) > MAX_ADDRESS_LENGTH:
        raise AddressRefused(f"an address has at most {MAX_ADDRESS_LENGTH} characters")
    try:
        checked = validate_email(
            text, check_deliverability=False, allow_smtputf8=True, allow_display_name=False
        )
    except EmailNotValidError as error:
        raise AddressRefused(str(error)) from error
    return unicodedata.normalize("NFC", checked.normalized.lower())


@dataclass(frozen=True)
class Sendable:
    """How an address goes into SMTP: `ascii` for any server, or only with SMTPUTF8."""

    address: str  # what to put into RCPT TO and the To header
    needs_smtputf8: bool


def sendable(address: str) -> Sendable:
    """The form of a (canonical or not) address that SMTP takes; AddressRefused if none."""
    return _sendable(canonical_address(address))


@functools.lru_cache(maxsize=ADDRESSES_KEPT)
def _sendable(canonical: str) -> Sendable:
    checked = validate_email(
        canonical, check_deliverability=False, allow_smtputf8=True, allow_display_name=False
    )
    if checked.ascii_email:
        return Sendable(checked.ascii_email, needs_smtputf8=False)
    return Sendable(canonical, needs_smtputf8=True)


MAX_RECORDED_LENGTH = 320


def as_written(text: str) -> str:
    """An address the policy refuses, as it is still recorded (a failed delivery names it):
    NFC, trimmed, lower case, at most 320 characters."""
    return unicodedata.normalize("NFC", str(text)).strip().lower()[:MAX_RECORDED_LENGTH]


def address_key(text: str) -> str:
    """What makes two addresses one mailbox: the canonical form, or, for an address the policy
    refuses (events carry addresses leniently), the address as written."""
    try:
        return canonical_address(str(text))
    except AddressRefused:
        return as_written(text)


def same_address(a: str, b: str) -> bool:
    return address_key(a) == address_key(b)


def _canonical(value: str) -> str:
    try:
        return canonical_address(value)
    except AddressRefused as error:
        raise ValueError(str(error)) from error


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("an address must be text")
    return value


# An address as the APIs accept it: checked and turned into its canonical form.
Address = Annotated[
    str,
    BeforeValidator(_text_only),
    AfterValidator(_canonical),
    Field(json_schema_extra={"format": "idn-email"}, max_length=320),
]

# An address as events carry it: the producer checked it; a reader takes any text that looks
# like one and lets one delivery fail if it is unusable, never the whole event.
EventAddress = Annotated[
    str,
    Field(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+$",
        json_schema_extra={"format": "idn-email"},
        description="Canonical form: lower case, NFC, domain in Unicode; see the address policy.",
    ),
]
