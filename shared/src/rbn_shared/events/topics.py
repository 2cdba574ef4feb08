"""Topic names. One topic per producing service; its dead letters go to `<topic>.dlq`."""

from __future__ import annotations

from dataclasses import dataclass

REGISTRY = "registry"
CONFERENCES = "conferences"
NOTIFICATIONS = "notifications"
PRODUCERS = (REGISTRY, CONFERENCES, NOTIFICATIONS)

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topics:
    """Topic names under a prefix; tests use their own prefix to stay apart from each other."""

    prefix: str = "rbn."

    def events_of(self, producer: str) -> str:
        if producer not in PRODUCERS:
            raise ValueError(f"unknown producer {producer!r}")
        return f"{self.prefix}{producer}.events"

    @property
    def registry(self) -> str:
        return self.events_of(REGISTRY)

    @property
    def conferences(self) -> str:
        return self.events_of(CONFERENCES)

    @property
    def notifications(self) -> str:
        return self.events_of(NOTIFICATIONS)

    @staticmethod
    def dead_letters_of(topic: str) -> str:
        return topic + DLQ_SUFFIX

    def all(self) -> list[str]:
        """Every topic the project uses, dead-letter topics included."""
        events = [self.events_of(p) for p in PRODUCERS]
        return events + [self.dead_letters_of(t) for t in events]
