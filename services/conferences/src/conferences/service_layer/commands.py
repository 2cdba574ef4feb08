"""What callers ask of the conferences service: one small value per use case, nothing else.

A route builds the command from its body and the request (`rbn_shared.writes.Write`: the caller,
the cause, the version read from If-Match) and hands it to the service (service_layer/services.py);
commands are built by keyword, so each call says what its values are. A command carries its
caller as `actor`; the use case checks the caller's role on the conference's network once it has
loaded the conference, since only then is the network known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from conferences.domain.model import ConferenceDraft, Delegate, RecommendationDraft
from rbn_shared.auth import Principal
from rbn_shared.changes import Cause
from rbn_shared.events.conferences import Response, Venue


@dataclass(frozen=True, kw_only=True)
class ScheduleConference:
    actor: Principal
    cause: Cause
    network_id: str
    draft: ConferenceDraft
    publish: bool = True  # False: keep it as a draft (nobody is told yet)


# ---------------------------------------------------------------------------- changes
# What may change on a conference that exists: one value per use case, carried by
# `ChangeConference` (who asks, why, which conference, at which version).


@dataclass(frozen=True, kw_only=True)
class Reschedule:
    """A new time; a venue or online link given replaces the old one, one left out stays."""

    starts_at: datetime
    ends_at: datetime
    venue: Venue | None = None
    online_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class Publish:
    """A draft becomes a scheduled conference: the invitations go out."""


@dataclass(frozen=True, kw_only=True)
class Edit:
    """The conference as it should be, complete (a route merges its patch in beforehand)."""

    draft: ConferenceDraft


@dataclass(frozen=True, kw_only=True)
class Cancel:
    reason: str


@dataclass(frozen=True, kw_only=True)
class Conclude:
    summary: str
    recommendations: tuple[RecommendationDraft, ...]


@dataclass(frozen=True, kw_only=True)
class InvitationChange:
    """A change of one of the conference's invitations."""

    invitation_id: str


@dataclass(frozen=True, kw_only=True)
class CorrectDelegate(InvitationChange):
    """The delegate as they should be, complete (a route merges its patch in beforehand)."""

    delegate: Delegate


@dataclass(frozen=True, kw_only=True)
class WithdrawDelegate(InvitationChange):
    """Take an external delegate off the conference (a draft's simply goes)."""


@dataclass(frozen=True, kw_only=True)
class RecordResponse(InvitationChange):
    response: Response


@dataclass(frozen=True, kw_only=True)
class InviteDelegate:
    delegate: Delegate


Change = (
    Publish
    | Edit
    | Reschedule
    | Cancel
    | Conclude
    | InviteDelegate
    | CorrectDelegate
    | WithdrawDelegate
    | RecordResponse
)


@dataclass(frozen=True, kw_only=True)
class ChangeConference:
    """A caller's change of one conference: who asks (`actor`, allowed to change its network or
    refused), why, the version they read (a stale one is refused), and what."""

    actor: Principal
    cause: Cause
    conference_id: str
    expected_version: int
    change: Change
