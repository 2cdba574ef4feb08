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
            # A place needs both: an empty half goes along, for the API to name it.
            "venue": {"name": venue_name or "", "address": venue_address or ""}
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


# ---------------------------------------------------------------------------- education office

STAFF_FIELDS = {
    "person.name",
    "person.email",
    "person.organisation",
    "person.function",
    "employer",
    "released_from_school",
    "hours_share",
    "start_date",
    "end_date",
}
STAFF_REMOVAL_FIELDS = {"end_date", "reason"}
FIELD_FIELDS = {"title", "starting_situation", "development_needs"}


def percent(text: str | None) -> float | None:
    """`50`, `50 %`, `33,5` as a share (0.5, 0.335); None for an empty or unreadable text."""
    if text is None:
        return None
    cleaned = text.replace("%", "").replace(",", ".").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value / 100 if value == value else None  # NaN is no share


def staff_body(form: Form) -> dict[str, Any]:
    """POST /networks/{id}/office/staff. The share is asked in percent and sent as 0 < x ≤ 1."""
    share = _text(form, "hours_share")
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
            "employer": _text(form, "employer"),
            "released_from_school": _text(form, "released_from_school"),
            "hours_share": percent(share) if share else None,
            "start_date": _text(form, "start_date"),
            "end_date": _text(form, "end_date"),
        }
    )


def staff_problems(form: Form) -> Problems:
    """What the form can tell before asking the registry (and before the confirmation names the
    person): who, since when and where employed; a share is a number of percent, and only the
    Land's teachers are released from a school (with a share of their hours)."""
    problems = Problems()
    for name in ("person.name", "person.email", "employer", "start_date"):
        if _text(form, name) is None:
            problems.fields[name] = "Bitte ausfüllen."
    share_text = _text(form, "hours_share")
    share = percent(share_text)
    if share_text and share is None:
        problems.fields["hours_share"] = "Bitte den Anteil in Prozent angeben, z. B. 50."
    elif share is not None and not 0 < share <= 1:
        problems.fields["hours_share"] = "Bitte einen Anteil über 0 und bis 100 Prozent angeben."
    employer = _text(form, "employer")
    school = _text(form, "released_from_school")
    if employer == "state":
        if school is None:
            problems.fields["released_from_school"] = (
                "Bitte die Schule angeben, von der die Lehrkraft abgeordnet ist."
            )
        if share_text is None:
            problems.fields["hours_share"] = (
                "Bitte angeben, mit welchem Anteil ihrer Stunden die Lehrkraft freigestellt ist."
            )
    elif employer == "municipality":
        for name in ("released_from_school", "hours_share"):
            if _text(form, name):
                problems.fields[name] = "Nur bei abgeordneten Lehrkräften des Landes angeben."
    return problems


def staff_removal_body(form: Form) -> dict[str, Any]:
    """POST .../office/staff/{id}/removal."""
    return _without_none({"end_date": _text(form, "end_date"), "reason": _text(form, "reason")})


# ---------------------------------------------------------------------------- fields of action


def _paragraphs(form: Form, name: str) -> str | None:
    """A multi-line field: blanks around it removed, line breaks as `\\n` (browsers send CRLF)."""
    value = form.get(name, "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return value or None


def field_body(form: Form) -> dict[str, Any]:
    """POST /networks/{id}/fields-of-action: proposed, to be adopted by the committee."""
    return _without_none(
        {
            "title": _text(form, "title"),
            "starting_situation": _paragraphs(form, "starting_situation"),
            "development_needs": _paragraphs(form, "development_needs"),
        }
    )


def adoption_body(form: Form) -> dict[str, Any]:
    """POST .../fields-of-action/{id}/adoption."""
    return _without_none({"adopted_on": _text(form, "adopted_on")})


def closure_body(form: Form) -> dict[str, Any]:
    """POST .../fields-of-action/{id}/closure."""
    return _without_none({"closed_on": _text(form, "closed_on")})


# What the registry says about the office and the fields in its own words, as German sentences.
_REGISTRY_REASONS: tuple[tuple[str, str], ...] = (
    ("already works in the education office", "Diese Person arbeitet schon im Bildungsbüro mit."),
    (
        "name the school they are released from",
        "Bitte die Schule angeben, von der die Lehrkraft abgeordnet ist.",
    ),
    (
        "share of the teaching hours",
        "Bitte angeben, mit welchem Anteil ihrer Stunden die Lehrkraft freigestellt ist.",
    ),
    ("only the land's staff", "Nur bei abgeordneten Lehrkräften des Landes angeben."),
    ("the closing must not lie before", "Der Abschluss kann nicht vor dem Beschluss liegen."),
    ("must not lie before", "Das Datum darf nicht vor dem Beginn liegen."),
    (
        "already has an open field of action",
        "Ein offenes Handlungsfeld mit diesem Titel gibt es schon.",
    ),
)


def registry_problems(status: int, body: Any, known: set[str]) -> Problems:
    """`Problems.of`, with the registry's rules for staff and fields said in German."""
    problems = Problems.of(status, body, known)
    document = body if isinstance(body, Mapping) else {}
    for error in document.get("errors") or []:
        name, reason = str(error.get("field", "")), str(error.get("reason", ""))
        german_text = next((g for m, g in _REGISTRY_REASONS if m in reason.lower()), None)
        if german_text is None:
            continue
        if name in known:
            problems.fields[name] = german_text
        else:
            problems.general = [
                german_text if m == german.reason(reason) else m for m in problems.general
            ]
    return problems
