"""The event contract: envelope, payload models, catalogue and topics.

Where an event is defined: `registry.py`, `conferences.py` or `notifications.py` in this folder.
"""

from rbn_shared.events.base import EventPayload, NetworkRef, Person
from rbn_shared.events.catalogue import (
    CATALOGUE,
    EventSpec,
    UnknownEvent,
    new_event,
    parse_payload,
    spec_of,
)
from rbn_shared.events.envelope import Envelope, utc_now
from rbn_shared.events.topics import Topics

__all__ = [
    "CATALOGUE",
    "Envelope",
    "EventPayload",
    "EventSpec",
    "NetworkRef",
    "Person",
    "Topics",
    "UnknownEvent",
    "new_event",
    "parse_payload",
    "spec_of",
    "utc_now",
]
