"""All networks (for the district coordination) and one network at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal.entrypoints.web import Calls, Person, page, refused, see_other

router = APIRouter()


@router.get("/netzwerke", response_model=None)
async def networks(request: Request, person: Person, call: Calls) -> Response:
    if not person.is_district and person.own_network:
        return see_other(f"/netzwerke/{person.own_network}")
    answer = await call.registry("/networks", limit=100)
    if not answer.ok:
        return refused(request, person, answer)
    return page(request, "networks.html", person, networks=answer.body["items"])


@router.get("/netzwerke/{network_id}", response_model=None)
async def overview(request: Request, network_id: str, person: Person, call: Calls) -> Response:
    network = await call.registry(f"/networks/{network_id}")
    if not network.ok:
        return refused(request, person, network)
    listed = await call.conferences("/conferences", network_id=network_id, limit=100)
    conferences = listed.body["items"] if listed.ok else []
    upcoming = [c for c in conferences if c["status"] in ("draft", "scheduled")]
    return page(
        request,
        "overview.html",
        person,
        network=network.body,
        next_conference=upcoming[0] if upcoming else None,
        active_agreement=next(
            (a for a in network.body["agreements"] if a["status"] == "active"), None
        ),
        open_fields=[f for f in network.body["fields_of_action"] if f["status"] != "closed"],
        undeliverable=sum(c["counts"]["undeliverable"] for c in upcoming),
    )
