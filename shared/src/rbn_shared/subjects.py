"""The pure half of `rbn_shared.privacy`: a data subject's pseudonym and an erased person's
placeholder, without any I/O, so that a service's domain may use them (`rbn_shared.privacy`
re-exports every name, the contract is unchanged)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from rbn_shared.addresses import address_key

ERASED_NAME = "Entfernte Person"
"""What stands where an erased person's name stood (a committee seat held from-to stays)."""

ERASED_DOMAIN = "entfernt.invalid"
"""The domain of an erased person's placeholder address: reserved, never deliverable."""


def subject_of(address: str) -> str:
    """The pseudonymous subject of an address: SHA-256 (hex) of its canonical form."""
    return hashlib.sha256(address_key(address).encode("utf-8")).hexdigest()


def erased_address(subject: str) -> str:
    """The placeholder address of an erased person: unique per person (so "once per committee"
    still holds), undeliverable, and without the address it replaces."""
    return f"entfernt-{subject[:16]}@{ERASED_DOMAIN}"


def is_erased_address(address: str) -> bool:
    return address_key(address).endswith("@" + ERASED_DOMAIN)


def mentions(value: Any, needles: Iterable[str]) -> bool:
    """Whether any text inside a (nested) document contains one of the needles, ignoring case:
    how erasure finds free-standing copies (dead letters, logs of changes)."""
    wanted = [n.casefold() for n in needles if n]
    if isinstance(value, str):
        folded = value.casefold()
        return any(n in folded for n in wanted)
    if isinstance(value, dict):
        return any(mentions(v, wanted) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(mentions(v, wanted) for v in value)
    return False
