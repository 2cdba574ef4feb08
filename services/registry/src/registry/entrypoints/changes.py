"""`GET /networks/{network_id}/changes`: the audit trail of one network."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from rbn_shared.auth import Caller
from rbn_shared.http import problem_responses
from rbn_shared.paging import Limit, Offset, Page
from registry.adapters.changes import ChangeLog


class Change(BaseModel):
    event_id: str
    type: str = Field(description="The event the change published, e.g. committee-member-added")
    producer: str = Field(description="The service that accepted it: registry or conferences")
    aggregate_id: str
    occurred_at: datetime
    actor: str | None = Field(
        description="Who asked for it: the caller's pseudonymous subject at the sign-in "
        "provider; null when the system itself reacted (or an invitee answered by link)."
    )
    correlation_id: str


router = APIRouter(tags=["audit trail"])


@router.get(
    "/networks/{network_id}/changes",
    summary="Who changed what of the network, and when (district and the network's own office)",
    responses=problem_responses(401, 403, 422),
)
async def list_changes(
    network_id: str, caller: Caller, request: Request, limit: Limit = 20, offset: Offset = 0
) -> Page[Change]:
    caller.require_personal_data(network_id)
    changes: ChangeLog = request.app.state.changes
    items, total = await changes.of_network(network_id, limit=limit, offset=offset)
    return Page(
        items=[Change.model_validate(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )
