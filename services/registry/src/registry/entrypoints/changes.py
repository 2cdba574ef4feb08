"""`GET /networks/{network_id}/changes`: the audit trail of one network."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from rbn_shared.auth import Caller
from rbn_shared.http import problem_responses
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


class ChangePage(BaseModel):
    items: list[Change]
    total: int
    limit: int
    offset: int


router = APIRouter(tags=["audit trail"])


@router.get(
    "/networks/{network_id}/changes",
    summary="Who changed what of the network, and when (district and the network's own office)",
    responses=problem_responses(401, 403, 422),
)
async def list_changes(
    network_id: str,
    caller: Caller,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> ChangePage:
    caller.require_personal_data(network_id)
    changes: ChangeLog = request.app.state.changes
    items, total = await changes.of_network(network_id, limit=limit, offset=offset)
    return ChangePage(
        items=[Change.model_validate(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )
