"""The data subjects' routes every service answers alike (district only): what it holds about an
address (Art. 15 DSGVO) and the audit of exports and erasures. The operator's CLI puts the
three answers together (`rbn privacy export`, `rbn privacy audit`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from rbn_shared.addresses import Address
from rbn_shared.events.registry import SubjectDigest


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
