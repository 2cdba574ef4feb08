"""A service's reaction table: which handlers react to which event, in one visible place.

In the spirit of *Architecture Patterns with Python*'s `EVENT_HANDLERS`: each service declares

    REACTIONS = Reactions({
        CommitteeMemberAdded: [project_member, follow_roster],
        ConferenceScheduled: [notify],
    })

keyed by payload class. A handler receives the envelope and the payload as its own class (the
shared consumer has already validated it). The event types a consumer subscribes to, and the
topics it reads, are derived from the table: nothing is typed twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from rbn_shared.consumer import Handler, Together
from rbn_shared.events.base import EventPayload
from rbn_shared.events.catalogue import CATALOGUE
from rbn_shared.events.envelope import Envelope
from rbn_shared.events.topics import Topics

Reaction = Callable[[Envelope, Any], Awaitable[None]]
ManyReaction = Callable[[list[tuple[Envelope, Any]]], Awaitable[None]]


class Reactions:
    """Payload class → the handlers that react to it, run in the order given."""

    def __init__(
        self,
        table: Mapping[type[EventPayload], Sequence[Reaction]],
        *,
        together: tuple[ManyReaction, Sequence[type[EventPayload]]] | None = None,
    ) -> None:
        """`together`: a handler for a run of events of those payload classes at once, doing
        what their reactions in the table do one by one (see `rbn_shared.consumer.Together`)."""
        unknown = [c.__name__ for c in table if CATALOGUE.get(c.event_type, None) is None]
        if unknown:
            raise ValueError(f"reactions to payloads not in the catalogue: {unknown}")
        self.table = {payload: list(handlers) for payload, handlers in table.items()}
        self.together: Together | None = None
        if together is not None:
            handler, payloads = together
            types = frozenset(payload.event_type for payload in payloads)
            self.together = Together(types, handler)

    @property
    def event_types(self) -> list[str]:
        return sorted(payload.event_type for payload in self.table)

    def producers(self) -> list[str]:
        return sorted({CATALOGUE[payload.event_type].producer for payload in self.table})

    def topics(self, topics: Topics) -> list[str]:
        """The topics the events of the table arrive on."""
        return [topics.events_of(producer) for producer in self.producers()]

    def handlers(self) -> dict[str, Handler]:
        """One handler per event type for the shared consumer: the reactions, one after another."""

        def run_all(reactions: list[Reaction]) -> Handler:
            async def handle(envelope: Envelope, payload: Any) -> None:
                for reaction in reactions:
                    await reaction(envelope, payload)

            return handle

        return {payload.event_type: run_all(rs) for payload, rs in self.table.items()}

    def describe(self) -> list[tuple[str, list[str]]]:
        """(event type, handler names) rows, for the documentation and the tests."""
        return [
            (payload.event_type, [getattr(r, "__qualname__", repr(r)) for r in reactions])
            for payload, reactions in sorted(self.table.items(), key=lambda i: i[0].event_type)
        ]
