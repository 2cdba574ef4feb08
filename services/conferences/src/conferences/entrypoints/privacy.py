"""The data subjects' rights here, for the district coordination: what this service holds about
an address (Art. 15 DSGVO) and the audit of exports and erasures. Erasure itself arrives as the
registry's `person-erased` (entrypoints/consumers.py). Every route is the district's only (403
for offices and readers, before a body is judged).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from conferences.service_layer.privacy import PrivacyService
from rbn_shared.addresses import Address
from rbn_shared.auth import Principal, district_caller
from rbn_shared.events.registry import SubjectDigest
from rbn_shared.http import problem_responses


def get_privacy(request: Request) -> PrivacyService:
    privacy: PrivacyService = request.app.state.privacy
    return privacy


Privacy = Annotated[PrivacyService, Depends(get_privacy)]
District = Annotated[Principal, Depends(district_caller)]


class AccessRequest(BaseModel):
    email: Address = Field(description="The person's address")


class AccessItem(BaseModel):
    kind: str = Field(
        description="invitation, delegate (of a draft), committee-seat or office-post"
    )
    id: str = Field(
        description="The record's id: <conference id>/<invitation id>, a member or staff id"
    )
    network_id: str | None
    data: dict[str, Any] = Field(description="What the record holds")


class AccessExport(BaseModel):
    service: str = "conferences"
    subject: str = Field(description="SHA-256 of the person's canonical address")
    generated_at: datetime
    items: list[AccessItem] = Field(description="Every record about the person, each once")


class AuditEntry(BaseModel):
    action: str = Field(description="erasure or access-export")
    subject: str
    actor: str | None = Field(description="Who asked: the caller's pseudonymous subject")
    at: datetime


class AuditEntries(BaseModel):
    items: list[AuditEntry] = Field(description="Oldest first")


router = APIRouter(prefix="/privacy", tags=["privacy"], dependencies=[Depends(district_caller)])


@router.post(
    "/access",
    summary="Everything this service holds about an address (Art. 15 DSGVO)",
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def access(body: AccessRequest, privacy: Privacy, caller: District) -> AccessExport:
    # The actor is the caller's pseudonymous subject, as the service puts it on envelopes.
    export = await privacy.export(body.email, actor=caller.subject)
    return AccessExport(
        subject=export.subject,
        generated_at=export.generated_at,
        items=[AccessItem.model_validate(item) for item in export.items],
    )


@router.get(
    "/audit",
    summary="Who erased or exported whose data here, and when",
    responses=problem_responses(401, 403, 422),
)
async def audit(
    privacy: Privacy,
    subject: Annotated[SubjectDigest | None, Query(description="Only this subject's")] = None,
) -> AuditEntries:
    entries = await privacy.audit.entries(subject)
    return AuditEntries(items=[AuditEntry.model_validate(e) for e in entries])
