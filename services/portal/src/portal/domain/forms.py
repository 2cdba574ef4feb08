"""From the portal's forms to the APIs' request bodies, and from the APIs' problem documents back
to messages beside the fields. Pure: no I/O.

A form field is named by the API field it fills (`person.email`), so a problem naming that field
lands beside it; the few form fields that make up one API field (a day and two times make
`starts_at` and `ends_at`) are mapped in `_SHOWN_AT`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from portal.domain import german

Form = Mapping[str, str]


def _text(form: Form, name: str) -> str | None:
    """The field's text without surrounding blanks; None for an empty field."""
    value = form.get(name, "").strip()
    return value or None


def version_read(form: Form) -> int | None:
    """The version a form was read at (its hidden `version`), sent back as If-Match."""
    version = form.get("version", "")
    return int(version) if version.isdigit() else None


def member_body(form: Form) -> dict[str, Any]:
    """POST /networks/{id}/committee/members."""
    return _without_none(
        {
            "person": _person(form),
            "side": _text(form, "side"),
            "role": _text(form, "role"),
            "supervision": _text(form, "supervision"),
            "term_start": _text(form, "term_start"),
            "term_end": _text(form, "term_end"),
        }
    )


def _person(form: Form) -> dict[str, Any]:
    """The `person.*` fields that committee members and office staff both have."""
    return _texts(form, "name", "email", "organisation", "function", prefix="person.")


def removal_body(form: Form) -> dict[str, Any]:
    """POST .../members/{id}/removal."""
    return _texts(form, "removed_on", "reason")


def conference_body(form: Form, network_id: str) -> dict[str, Any]:
    """POST /conferences as a draft: nothing is sent before it is published."""
    capacity = _text(form, "capacity")
    return _without_none(
        {
            "network_id": network_id,
            "draft": True,
            "title": _text(form, "title"),
            "kind": _text(form, "kind") or "plenary",
            "topic": _text(form, "topic"),
            **_time_and_place(form),
            "capacity": int(capacity) if capacity and capacity.isdigit() else capacity,
        }
    )


def _time_and_place(form: Form) -> dict[str, Any]:
    """`starts_at` and `ends_at` in local time from the day and the two times, the venue and the
    online access; None for what is not given."""
    day = _text(form, "day")
    starts, ends = _text(form, "start"), _text(form, "end")
    venue_name, venue_address = _text(form, "venue.name"), _text(form, "venue.address")
    return {
        "starts_at": f"{day}T{starts}" if day and starts else None,
        "ends_at": f"{day}T{ends}" if day and ends else None,
        # A place needs both: an empty half goes along, for the API to name it.
        "venue": {"name": venue_name or "", "address": venue_address or ""}
        if venue_name or venue_address
        else None,
        "online_url": _text(form, "online_url"),
    }


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _texts(form: Form, *names: str, prefix: str = "") -> dict[str, Any]:
    """Each field `prefix` + name as `_text` reads it, by its name; the empty ones left out."""
    return _without_none({name: _text(form, prefix + name) for name in names})


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
            "person": _person(form),
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
    return _texts(form, "end_date", "reason")


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
    return _texts(form, "adopted_on")


def closure_body(form: Form) -> dict[str, Any]:
    """POST .../fields-of-action/{id}/closure."""
    return _texts(form, "closed_on")


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


# ---------------------------------------------------------------------------- conference changes

ANSWERS = {"accepted": "Zusage", "declined": "Absage", "tentative": "Unter Vorbehalt"}
RESCHEDULE_FIELDS = {"day", "start", "end", "venue.name", "venue.address", "online_url"}
CANCEL_FIELDS = {"reason"}
GUEST_FIELDS = {"name", "email", "institution", "group"}
RECOMMENDATION = "recommendation."  # + the field of action's id: one text per adopted field


def response_body(form: Form) -> dict[str, Any]:
    """PUT /conferences/{id}/invitations/{invitation_id}/response: an answer given by phone."""
    return _texts(form, "response")


def response_problems(form: Form) -> Problems:
    problems = Problems()
    if _text(form, "response") not in ANSWERS:
        problems.general.append("Bitte Zusage, Absage oder Unter Vorbehalt wählen.")
    return problems


def reschedule_body(form: Form) -> dict[str, Any]:
    """POST /conferences/{id}/reschedule: the new day and times in local time; a place or an
    online access only when given (the API keeps the ones it has otherwise)."""
    return _without_none(_time_and_place(form))


def reschedule_problems(form: Form) -> Problems:
    """What the form can tell before the confirmation names the new time."""
    problems = Problems()
    for name in ("day", "start", "end"):
        if _text(form, name) is None:
            problems.fields[name] = "Bitte ausfüllen."
    day = _text(form, "day")
    if day and not _is_day(day):
        problems.fields["day"] = "Bitte ein Datum angeben, z. B. 10.03.2027."
    for name in ("start", "end"):
        value = _text(form, name)
        if value and not _is_time(value):
            problems.fields[name] = "Bitte eine Uhrzeit angeben, z. B. 14:00."
    starts, ends = _text(form, "start"), _text(form, "end")
    if starts and ends and not {"start", "end"} & problems.fields.keys() and ends <= starts:
        problems.fields["end"] = "Das Ende muss nach dem Beginn liegen."
    if bool(_text(form, "venue.name")) != bool(_text(form, "venue.address")):
        missing = "venue.address" if _text(form, "venue.name") else "venue.name"
        problems.fields[missing] = "Bitte Ort und Anschrift zusammen angeben."
    return problems


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_time(text: str) -> bool:
    hours, _, minutes = text.partition(":")
    return (
        len(hours) == 2
        and len(minutes) == 2
        and hours.isdigit()
        and minutes.isdigit()
        and int(hours) < 24
        and int(minutes) < 60
    )


def cancel_body(form: Form) -> dict[str, Any]:
    """POST /conferences/{id}/cancel."""
    return _without_none({"reason": _paragraphs(form, "reason")})


def cancel_problems(form: Form) -> Problems:
    problems = Problems()
    if _paragraphs(form, "reason") is None:
        problems.fields["reason"] = "Bitte den Grund angeben; er steht in der Absage an alle."
    return problems


def guest_body(form: Form) -> dict[str, Any]:
    """POST /conferences/{id}/invitations: an external delegate (a guest)."""
    return _texts(form, "name", "email", "institution", "group")


def guest_problems(form: Form) -> Problems:
    problems = Problems()
    if _text(form, "name") is None:
        problems.fields["name"] = "Bitte den Namen angeben; er steht in der Einladung."
    if _text(form, "email") is None:
        problems.fields["email"] = "Bitte die E-Mail-Adresse angeben; dorthin geht die Einladung."
    if _text(form, "group") not in german.GUEST_GROUP:
        problems.fields["group"] = "Bitte wählen, für wen der Gast spricht."
    return problems


def guest_refused(status: int, body: Any) -> Problems:
    """The API's answer to a guest, an address already invited beside the address."""
    document = body if isinstance(body, Mapping) else {}
    if str(document.get("type", "")).endswith(":already-invited"):
        return Problems(fields={"email": "Diese Adresse ist bereits eingeladen."})
    return conference_problems(status, body, GUEST_FIELDS)


def recommendations_of(form: Form, field_ids: list[str]) -> list[dict[str, str]]:
    """One recommendation per field of action with a text, in the order of `field_ids`."""
    found = ((i, _paragraphs(form, RECOMMENDATION + i)) for i in field_ids)
    return [{"field_of_action_id": i, "text": text} for i, text in found if text]


def conclude_body(form: Form, field_ids: list[str]) -> dict[str, Any]:
    """POST /conferences/{id}/conclude: the summary and the recommendations given (empty texts
    are left out). `field_ids` are the network's adopted fields of action."""
    return _without_none(
        {
            "summary": _paragraphs(form, "summary"),
            "recommendations": recommendations_of(form, field_ids),
        }
    )


def conclude_problems(form: Form, field_ids: list[str]) -> Problems:
    problems = Problems()
    if _paragraphs(form, "summary") is None:
        problems.fields["summary"] = "Bitte die Ergebnisse zusammenfassen."
    if not field_ids:
        problems.general.append(
            "Das Netzwerk hat noch kein beschlossenes Handlungsfeld; Empfehlungen lassen sich "
            "erst festhalten, wenn der Lenkungskreis eines beschlossen hat."
        )
    elif not recommendations_of(form, field_ids):
        problems.general.append(
            "Bitte mindestens eine Empfehlung zu einem Handlungsfeld eintragen."
        )
    return problems


# What the conferences service refuses in its own words, as German sentences.
_CONFERENCE_REASONS: tuple[tuple[str, str], ...] = (
    (
        "has started",
        "Die Konferenz hat schon begonnen; das lässt sich jetzt nicht mehr ändern.",
    ),
    ("has already ended", "Die Konferenz ist schon vorbei; absagen lässt sie sich nicht mehr."),
    (
        "only after the conference has ended",
        "Ergebnisse lassen sich erst nach dem Ende der Konferenz festhalten.",
    ),
    ("the conference is", "Die Konferenz ist nicht (mehr) geplant; die Seite zeigt den Stand."),
    (
        "already has conference",
        "Zu dieser Zeit hat das Netzwerk schon eine andere Konferenz; bitte eine andere Zeit "
        "wählen.",
    ),
    ("lies in the past", "Der neue Termin liegt in der Vergangenheit."),
    ("must be after starts_at", "Das Ende muss nach dem Beginn liegen."),
    ("no adopted field of action", "Dieses Handlungsfeld ist nicht (mehr) beschlossen."),
)


def _conference_reason(text: str) -> str | None:
    lowered = text.lower()
    return next((g for m, g in _CONFERENCE_REASONS if m in lowered), None)


def conference_problems(
    status: int, body: Any, known: set[str], field_ids: list[str] | None = None
) -> Problems:
    """`Problems.of` for a change of a conference: its refusals said in German (a refusal is a
    409 too, but not the one of a change in between), a recommendation's problem beside its
    text (`field_ids` in the order sent)."""
    document = body if isinstance(body, Mapping) else {}
    problems = Problems()
    for error in document.get("errors") or []:
        name, reason = str(error.get("field", "")), str(error.get("reason", ""))
        message = _conference_reason(reason) or german.reason(reason)
        parts = name.split(".")
        if parts[0] == "recommendations" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            if field_ids is not None and index < len(field_ids):
                shown = RECOMMENDATION + field_ids[index]
                if shown in known:
                    problems.fields.setdefault(shown, message)
                    continue
        shown = _SHOWN_AT.get(name, name)
        if shown in known:
            problems.fields.setdefault(shown, message)
        else:
            problems.general.append(message)
    if not problems:
        refused = str(document.get("type", "")).endswith(":version-conflict")
        german_text = None if refused else _conference_reason(str(document.get("detail", "")))
        problems.general.append(german_text or general_message(status, document))
    return problems


# ---------------------------------------------------------------------------- deliveries

CORRECTION_FIELDS = {"email"}


def correction_body(form: Form, target: str) -> dict[str, Any]:
    """The merge patch that corrects an address: a committee member's in the registry
    (`target="member"`), an external delegate's invitation in the conferences service
    (`target="delegate"`)."""
    email = _text(form, "email")
    return {"person": {"email": email}} if target == "member" else {"email": email}


def correction_problems(form: Form, old_address: str) -> Problems:
    """What the form can tell before asking: an address is given, and it is a new one."""
    problems = Problems()
    email = _text(form, "email")
    if email is None:
        problems.fields["email"] = "Bitte die richtige E-Mail-Adresse angeben."
    elif email.casefold() == old_address.strip().casefold():
        problems.fields["email"] = (
            "Das ist die Adresse, an die die Mail nicht zugestellt werden konnte. Bitte die "
            "richtige Adresse angeben."
        )
    return problems


def correction_refused(status: int, body: Any) -> Problems:
    """The API's refusal of a correction; the registry names `person.email`, the conferences
    service `email`: both are shown beside the one field."""
    document = dict(body) if isinstance(body, Mapping) else {}
    errors = [
        {**error, "field": "email"} if error.get("field") == "person.email" else error
        for error in document.get("errors") or []
        if isinstance(error, Mapping)
    ]
    return Problems.of(status, {**document, "errors": errors}, CORRECTION_FIELDS)


def bulletin_body(form: Form) -> dict[str, Any]:
    """POST /district/bulletins: to every network."""
    return _without_none(
        {
            "title": _text(form, "title"),
            "body": form.get("body", "").strip() or None,  # paragraphs kept
            "author": _texts(form, "name", "email", "function", prefix="author."),
        }
    )
