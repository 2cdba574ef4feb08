"""Building blocks of event payloads: the base class and the small value types many events share."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rbn_shared.addresses import EventAddress

# Readers take what the producers checked at their edges as it is (tolerant reader): no
# trimming or cleaning here, so a payload valid against its JSON Schema is valid to every reader.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=20_000)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class EventPart(BaseModel):
    """A value in an event: immutable, and readers ignore fields they do not know (tolerant
    reader), so a producer may add optional fields without breaking anyone."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class EventPayload(EventPart):
    """Base of every payload: what happened, named by its `event_type`."""

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1


class MunicipalityKind(StrEnum):
    CITY = "city"  # kreisfreie Stadt
    DISTRICT = "district"  # Kreis


class Side(StrEnum):
    STATE = "state"  # Land NRW
    MUNICIPALITY = "municipality"  # Kommune


class Supervision(StrEnum):
    UPPER = "upper"  # Obere Schulaufsicht (Bezirksregierung)
    LOWER = "lower"  # Untere Schulaufsicht (Schulamt)


class Contact(EventPart):
    """Whom a mail can go to: a name and an address. A person, an office and a service unit are
    each a contact with their own further details."""

    name: Name
    email: EventAddress


class Person(Contact):
    organisation: Name | None = None
    function: Name | None = None


class NetworkRef(EventPart):
    """Which network an event is about, with what a mail about it needs."""

    id: Identifier
    name: Name
    office_email: EventAddress | None = Field(
        default=None, description="The education office's address, the usual sender and contact."
    )


class NetworkEvent(EventPayload):
    """A payload about one network; its id is the Kafka key."""

    network: NetworkRef


__all__ = [
    "Contact",
    "EventPayload",
    "Identifier",
    "MunicipalityKind",
    "Name",
    "NetworkEvent",
    "NetworkRef",
    "Person",
    "Side",
    "Supervision",
    "Text",
]
