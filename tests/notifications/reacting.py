"""Hand an event to the notifier as the service's consumers do: through its reaction table."""

from __future__ import annotations

from typing import Any

from notifications.entrypoints.consumers import reactions
from notifications.service_layer.notifier import Notifier
from rbn_shared.events import Envelope


async def react(notifier: Notifier, envelope: Envelope, payload: Any) -> None:
    """Run the reactions the table names for the event's type (none for an unknown one)."""
    for table in reactions(notifier).values():
        handle = table.handlers().get(envelope.type)
        if handle is not None:
            await handle(envelope, payload)
