"""The data subjects' routes every service answers alike (district only): what it holds about an
address (Art. 15 DSGVO) and the audit of exports and erasures. The operator's CLI puts the
three answers together (`rbn privacy export`, `rbn privacy audit`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from rbn_shared.addresses import Address
from rbn_shared.auth import Principal, district_caller, district_router
from rbn_shared.events.registry import SubjectDigest
from rbn_shared.http import problem_responses
from rbn_shared.privacy import HeldAbout, PrivacyAudit


class AccessRequest(BaseModel):
    """The address in the body, never in the URL (access logs keep URLs)."""

    model_config = ConfigDict(extra="forbid")

    email: Address = Field(description="The person's address")


class AccessItem(BaseModel):
    """One record about the person; a service adds what the record holds."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="What the record is: committee-seat, invitation, delivery, …")
    id: str = Field(description="The record's id in its service")
    network_id: str | None = None


class AccessExport(BaseModel):
    service: str
    subject: str = Field(description="SHA-256 of the person's canonical address")
    generated_at: datetime
    items: list[AccessItem] = Field(description="Every record about the person, each once")


class AuditEntry(BaseModel):
    action: str = Field(description="erasure or access-export")
    subject: str = Field(description="Whose data: the subject digest, never the address")
    actor: str | None = Field(description="Who asked: the caller's pseudonymous subject")
    at: datetime


class AuditEntries(BaseModel):
    items: list[AuditEntry] = Field(description="Oldest first")

    @classmethod
    def of(cls, entries: list[dict[str, Any]]) -> AuditEntries:
        return cls(items=[AuditEntry.model_validate(e) for e in entries])


SubjectFilter = Annotated[SubjectDigest | None, Query(description="Only this subject's entries")]


class SubjectRights(Protocol):
    """A service's side of the data subjects' rights, as the shared routes call it."""

    @property
    def audit(self) -> PrivacyAudit: ...

    async def export(self, address: str, *, actor: str | None) -> HeldAbout: ...


def subject_rights_router(
    service: str, rights: Callable[[Request], Awaitable[SubjectRights]]
) -> APIRouter:
    """`/privacy/access` and `/privacy/audit`, the district's only (403 for everyone else before
    a body is judged); a service adds its own privacy routes to the router it returns."""
    # Dependencies as defaults: the annotations are strings, resolved in this module's globals,
    # where the `rights` of this call is not.
    held_here = Depends(rights)
    the_district = Depends(district_caller)
    router = district_router("/privacy", "privacy")

    @router.post(
        "/access",
        summary=f"Everything the {service} service holds about an address (Art. 15 DSGVO)",
        responses=problem_responses(400, 401, 403, 413, 422),
    )
    async def access(
        body: AccessRequest,
        held: SubjectRights = held_here,
        caller: Principal = the_district,
    ) -> AccessExport:
        # The actor is the caller's pseudonymous subject, as on the envelopes of their changes.
        export = await held.export(body.email, actor=caller.subject)
        return AccessExport(
            service=service,
            subject=export.subject,
            generated_at=export.generated_at,
            items=[AccessItem.model_validate(item) for item in export.items],
        )

    @router.get(
        "/audit",
        summary="Who erased or exported whose data here, and when",
        responses=problem_responses(401, 403, 422),
    )
    async def audit(subject: SubjectFilter = None, held: SubjectRights = held_here) -> AuditEntries:
        return AuditEntries.of(await held.audit.entries(subject))

    return router
