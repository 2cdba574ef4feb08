"""Erasure (Art. 17 DSGVO) in this service's terms: what an erased person's copies become.

Pure: no database. A person is found by the subject of an address they hold here
(`rbn_shared.privacy.subject_of`); their copy keeps its place (an invitation its answer and its
place on the waiting list, a committee seat its term) and loses name, address, organisation and
function, so every count stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rbn_shared.events.base import Person
from rbn_shared.subjects import ERASED_NAME, erased_address, subject_of

# What an address looks like inside free text (a dead letter's error, an event's value).
_ADDRESS = re.compile(r"[^@\s\"'<>(),;:\[\]]+@[^@\s\"'<>(),;:\[\]]+")


def anonymised(subject: str) -> Person:
    """The erased person as every copy now shows them."""
    return Person(name=ERASED_NAME, email=erased_address(subject))


def is_of(address: str | None, subject: str) -> bool:
    return address is not None and subject_of(address) == subject


def addresses_in(text: str) -> set[str]:
    """The address-like words of a text."""
    return {match.strip(".") for match in _ADDRESS.findall(text)}


def contact_addresses(value: Any) -> set[str]:
    """The addresses of the contacts inside a JSON-like value (every `email` of a mapping)."""
    if isinstance(value, list):
        return {a for v in value for a in contact_addresses(v)}
    if not isinstance(value, dict):
        return set()
    found = {value["email"]} if isinstance(value.get("email"), str) else set()
    return found | {a for v in value.values() for a in contact_addresses(v)}


def scrubbed(value: Any, subjects: Iterable[str]) -> Any:
    """A JSON-like value with every contact of one of the subjects (a mapping with an `email`
    of theirs) anonymised: name and address replaced, organisation and function dropped. How an
    event's payload (a pending outbox record, a late registry event) loses the person."""
    wanted = set(subjects)
    if isinstance(value, list):
        return [scrubbed(v, wanted) for v in value]
    if not isinstance(value, dict):
        return value
    email = value.get("email")
    if isinstance(email, str) and subject_of(email) in wanted:
        person = anonymised(subject_of(email))
        kept = {k: v for k, v in value.items() if k not in ("organisation", "function")}
        return kept | {"name": person.name, "email": person.email}
    return {k: scrubbed(v, wanted) for k, v in value.items()}
