"""What a recipient may switch off: reminders and reports. Everything else always arrives."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Topic(StrEnum):
    REMINDERS = "reminders"  # conference reminders
    REPORTS = "reports"  # the district report


TOPIC_LABELS_DE = {
    Topic.REMINDERS: "Erinnerungen an Bildungskonferenzen",
    Topic.REPORTS: "Berichte der Bezirkskoordination über die regionalen Entwicklungen",
}


@dataclass(frozen=True)
class Preferences:
    email: str
    opted_out: frozenset[Topic] = field(default_factory=frozenset)

    def allows(self, topic: Topic | None) -> bool:
        """Mails without a topic (invitations, changes, cancellations, information) always pass."""
        return topic is None or topic not in self.opted_out

    def switched(self, topic: Topic, *, wanted: bool) -> Preferences:
        opted_out = self.opted_out - {topic} if wanted else self.opted_out | {topic}
        return Preferences(self.email, frozenset(opted_out))

    def as_flags(self) -> dict[str, bool]:
        return {topic.value: topic not in self.opted_out for topic in Topic}
