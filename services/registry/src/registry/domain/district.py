"""The district coordination (Bezirkskoordination) and the bulletins it publishes to all twelve."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from rbn_shared.events import EventPayload, Person
from rbn_shared.events.registry import (
    DistrictBulletinPublished,
    DistrictCoordinationChanged,
    ServiceUnit,
)
from registry.domain.errors import RuleViolation

DISTRICT_ID = "district"


class DistrictCoordination(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    id: str = DISTRICT_ID
    coordinator: Person
    service_unit: ServiceUnit
    pending_events: list[EventPayload] = Field(default_factory=list, exclude=True)

    @classmethod
    def establish(cls, coordinator: Person, service_unit: ServiceUnit) -> DistrictCoordination:
        district = cls(coordinator=coordinator, service_unit=service_unit)
        district.pending_events.append(
            DistrictCoordinationChanged(coordinator=coordinator, service_unit=service_unit)
        )
        return district

    def change(self, coordinator: Person, service_unit: ServiceUnit) -> bool:
        if coordinator == self.coordinator and service_unit == self.service_unit:
            return False
        self.coordinator, self.service_unit = coordinator, service_unit
        self.pending_events.append(
            DistrictCoordinationChanged(coordinator=coordinator, service_unit=service_unit)
        )
        return True

    def take_events(self) -> list[EventPayload]:
        events, self.pending_events = self.pending_events, []
        return events


class Bulletin(BaseModel):
    """Information from the Schulministerium, prepared by the district coordination."""

    id: str
    title: str
    body: str
    published_on: date
    author: Person
    network_ids: list[str]

    def published_event(self) -> DistrictBulletinPublished:
        return DistrictBulletinPublished(
            bulletin_id=self.id,
            title=self.title,
            body=self.body,
            published_on=self.published_on,
            author=self.author,
            network_ids=self.network_ids,
        )


def prepare_bulletin(
    bulletin_id: str,
    title: str,
    body: str,
    published_on: date,
    author: Person,
    network_ids: list[str],
) -> Bulletin:
    """A bulletin reaches every network; without networks there is nobody to tell."""
    if not network_ids:
        raise RuleViolation("there are no networks to publish to yet", "network_ids")
    return Bulletin(
        id=bulletin_id,
        title=title,
        body=body,
        published_on=published_on,
        author=author,
        network_ids=sorted(network_ids),
    )
