"""The Lenkungskreis: its members, adding one (after a confirmation: a welcome mail goes out)
and removing one (the member is told)."""

from __future__ import annotations

from portal.domain import forms
from portal.entrypoints.people import Entry, People


def _members(entries: list[Entry]) -> dict[str, list[Entry]]:
    """Side by side, the chair first, then by name."""
    order = sorted(entries, key=lambda m: (m["side"], m["role"] != "chair", m["person"]["name"]))
    return {"members": order}


COMMITTEE = People(
    section="lenkungskreis",
    part="committee",
    resource="committee/members",
    entry_name="member",
    list_template="committee.html",
    removal_template="remove_member.html",
    fields={
        "person.name",
        "person.email",
        "person.organisation",
        "person.function",
        "side",
        "role",
        "supervision",
        "term_start",
        "term_end",
    },
    removal_fields={"removed_on", "reason"},
    body=forms.member_body,
    removal_body=forms.removal_body,
    added="{name} gehört jetzt dem Lenkungskreis an; die Begrüßungsmail ist unterwegs.",
    removed="{name} gehört dem Lenkungskreis nicht mehr an.",
    listed=_members,
)


router = COMMITTEE.router()
