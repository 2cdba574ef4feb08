"""The Lenkungskreis: its members, adding one (after a confirmation: a welcome mail goes out)
and removing one (the member is told)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.domain import forms
from portal.entrypoints.people import Entry, People
from portal.entrypoints.web import Calls, Posted

router = APIRouter()


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


@router.get("/netzwerke/{network_id}/lenkungskreis")
async def committee(request: Request, network_id: str, call: Calls) -> HTMLResponse:
    return await COMMITTEE.list_page(request, call, network_id)


@router.post("/netzwerke/{network_id}/lenkungskreis", response_model=None)
async def add_member(request: Request, network_id: str, call: Calls, form: Posted) -> Response:
    return await COMMITTEE.add(request, call, network_id, form)


@router.post("/netzwerke/{network_id}/lenkungskreis/{member_id}/entfernen", response_model=None)
async def remove_member(
    request: Request, network_id: str, member_id: str, call: Calls, form: Posted
) -> Response:
    return await COMMITTEE.remove(request, call, network_id, member_id, form)
