"""From the portal's forms to the APIs' request bodies, and from the APIs' problem documents back
to messages beside the fields. Pure: no I/O.

A form field is named by the API field it fills (`person.email`), so a problem naming that field
lands beside it; the few form fields that make up one API field (a day and two times make
`starts_at` and `ends_at`) are mapped in `_SHOWN_AT`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal.domain import german

Form = Mapping[str, str]


def _text(form: Form, name: str) -> str | None:
    """The field's text without surrounding blanks; None for an empty field."""
    value = form.get(name, "").strip()
    return value or None


def member_body(form: Form) -> dict[str, Any]:
    """POST /networks/{id}/committee/members."""
    return _without_none(
        {
            "person": _without_none(
                {
                    "name": _text(form, "person.name"),
                    "email": _text(form, "person.email"),
                    "organisation": _text(form, "person.organisation"),
                    "function": _text(form, "person.function"),
                }
            ),
            "side": _text(form, "side"),
            "role": _text(form, "role"),
            "supervision": _text(form, "supervision"),
            "term_start": _text(form, "term_start"),
            "term_end": _text(form, "term_end"),
        }
    )


def removal_body(form: Form) -> dict[str, Any]:
    """POST .../members/{id}/removal."""
    return _without_none({"removed_on": _text(form, "removed_on"), "reason": _text(form, "reason")})


def conference_body(form: Form, network_id: str) -> dict[str, Any]:
    """POST /conferences as a draft: nothing is sent before it is published."""
    day = _text(form, "day")
    starts, ends = _text(form, "start"), _text(form, "end")
    venue_name, venue_address = _text(form, "venue.name"), _text(form, "venue.address")
    capacity = _text(form, "capacity")
    return _without_none(
        {
            "network_id": network_id,
            "draft": True,
            "title": _text(form, "title"),
            "kind": _text(form, "kind") or "plenary",
            "topic": _text(form, "topic"),
            "starts_at": f"{day}T{starts}" if day and starts else None,
            "ends_at": f"{day}T{ends}" if day and ends else None,
            "venue": {"name": venue_name, "address": venue_address}
            if venue_name or venue_address
            else None,
            "online_url": _text(form, "online_url"),
            "capacity": int(capacity) if capacity and capacity.isdigit() else capacity,
        }
    )


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# API field → the form field its message is shown at.
_SHOWN_AT = {"starts_at": "start", "ends_at": "end", "venue": "venue.name", "network_id": ""}


@dataclass
class Problems:
    """What an API refused, as the form shows it: a message per field and one for the form."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    @classmethod
    def of(cls, status: int, body: Any, known: set[str]) -> Problems:
        """The API's answer with `status` (a problem document as `body`) for a form with the
        `known` fields. A field error for a field the form does not have goes to the top."""
        problems = cls()
        document = body if isinstance(body, Mapping) else {}
        for error in document.get("errors") or []:
            api_field = str(error.get("field", ""))
            shown = _SHOWN_AT.get(api_field, api_field)
            message = german.reason(str(error.get("reason", "")))
            if shown in known:
                problems.fields.setdefault(shown, message)
            else:
                problems.general.append(message)
        if not problems:
            problems.general.append(general_message(status, document))
        return problems


def general_message(status: int, document: Mapping[str, Any]) -> str:
    """A German sentence for an answer that names no field."""
    if status == 409:
        return (
            "Die Angaben wurden inzwischen geändert (von Ihnen in einem anderen Fenster oder von "
            "einer Kollegin oder einem Kollegen). Bitte laden Sie die Seite neu und prüfen Sie "
            "die Änderung noch einmal."
        )
    if status == 403:
        return "Dazu ist Ihr Zugang nicht berechtigt."
    if status == 404:
        return "Das gibt es nicht (mehr). Bitte laden Sie die Seite neu."
    detail = document.get("detail")
    return german.reason(str(detail)) if detail else "Die Änderung wurde nicht angenommen."
