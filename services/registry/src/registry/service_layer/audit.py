"""The audit trail: every accepted change of a network, in the registry and in its conferences,
with who asked for it (the envelope's pseudonymous `actor`) and when.

The trail is read from the events themselves, so nothing a service accepted is missing from it
and no write path has to remember it.
"""

from __future__ import annotations

from typing import Any

from rbn_shared.events import Envelope
from rbn_shared.events.catalogue import CATALOGUE
from rbn_shared.reactions import Reactions
from registry.adapters.changes import ChangeLog

AUDITED_PRODUCERS = ("registry", "conferences")  # notifications only report on deliveries


def audit_trail(changes: ChangeLog) -> Reactions:
    """The reaction table of the audit trail: every event of the audited producers is recorded;
    a run of one network's events in one write."""

    async def record_change(envelope: Envelope, _payload: Any) -> None:
        await changes.record([envelope])

    async def record_changes(events: list[tuple[Envelope, Any]]) -> None:
        await changes.record([envelope for envelope, _ in events])

    audited = [spec.model for spec in CATALOGUE.values() if spec.producer in AUDITED_PRODUCERS]
    return Reactions(
        {model: [record_change] for model in audited}, together=(record_changes, audited)
    )
