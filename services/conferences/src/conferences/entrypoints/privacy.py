"""The data subjects' rights here, for the district coordination: what this service holds about
an address (Art. 15 DSGVO) and the audit of exports and erasures. Erasure itself arrives as the
registry's `person-erased` (entrypoints/consumers.py). Every route is the district's only (403
for offices and readers, before a body is judged).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from conferences.service_layer.privacy import PrivacyService
from rbn_shared.auth import Principal, district_caller
from rbn_shared.http import problem_responses
from rbn_shared.privacy_api import (
    AccessExport,
    AccessItem,
    AccessRequest,
    AuditEntries,
    SubjectFilter,
)


def get_privacy(request: Request) -> PrivacyService:
    privacy: PrivacyService = request.app.state.privacy
    return privacy


Privacy = Annotated[PrivacyService, Depends(get_privacy)]
District = Annotated[Principal, Depends(district_caller)]


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
        service="conferences",
        subject=export.subject,
        generated_at=export.generated_at,
        items=[AccessItem.model_validate(item) for item in export.items],
    )


@router.get(
    "/audit",
    summary="Who erased or exported whose data here, and when",
    responses=problem_responses(401, 403, 422),
)
async def audit(privacy: Privacy, subject: SubjectFilter = None) -> AuditEntries:
    return AuditEntries.of(await privacy.audit.entries(subject))
