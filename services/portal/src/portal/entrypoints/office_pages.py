"""The Regionale Bildungsbüro: its staff (the municipality's own and the Land's seconded
teachers), assigning someone (after a confirmation: a welcome mail goes out) and a staff member
leaving."""

from __future__ import annotations

from portal.domain import forms
from portal.domain.forms import STAFF_FIELDS, STAFF_REMOVAL_FIELDS
from portal.entrypoints.people import Entry, People


def _by_employer(entries: list[Entry]) -> dict[str, list[Entry]]:
    staff = sorted(entries, key=lambda s: s["person"]["name"])
    return {
        "municipal": [s for s in staff if s["employer"] == "municipality"],
        "teachers": [s for s in staff if s["employer"] == "state"],
    }


OFFICE = People(
    section="bildungsbuero",
    part="staff",
    resource="office/staff",
    entry_name="staff",
    list_template="office.html",
    removal_template="remove_staff.html",
    fields=STAFF_FIELDS,
    removal_fields=STAFF_REMOVAL_FIELDS,
    body=forms.staff_body,
    removal_body=forms.staff_removal_body,
    added="{name} arbeitet jetzt im Regionalen Bildungsbüro mit; die Begrüßungsmail ist unterwegs.",
    removed="{name} arbeitet nicht mehr im Regionalen Bildungsbüro mit.",
    listed=_by_employer,
    check=forms.staff_problems,
    problems=forms.registry_problems,
    form_values=lambda form: {"share": forms.percent(form.get("hours_share"))},
)


router = OFFICE.router()
