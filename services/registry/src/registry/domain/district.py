"""The district coordination (Bezirkskoordination) and the bulletins it publishes to all twelve."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from rbn_shared.events import EventPayload, Person
from rbn_shared.events.registry import (
    DistrictBulletinPublished,
    DistrictCoordinationChanged,
    ServiceUnit,
)
from rbn_shared.subjects import ERASED_NAME
from registry.domain import commands
from registry.domain.errors import RuleViolation
from registry.domain.privacy import DataSubject

DISTRICT_ID = "district"


class DistrictCoordination(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    id: str = DISTRICT_ID
    coordinator: Person
    service_unit: ServiceUnit

    @classmethod
    def establish(
        cls, command: commands.SetDistrictCoordination
    ) -> tuple[DistrictCoordination, list[EventPayload]]:
        district = cls(coordinator=command.coordinator, service_unit=command.service_unit)
        return district, [district._changed()]

    def change(self, command: commands.SetDistrictCoordination) -> list[EventPayload]:
        """Set who coordinates; `district-coordination-changed` only if something differs."""
        new = (command.coordinator, command.service_unit)
        if new == (self.coordinator, self.service_unit):
            return []
        self.coordinator, self.service_unit = new
        return [self._changed()]

    def roles_of(self, person: DataSubject) -> list[str]:
        """What the person is here, anonymised or not: `coordinator`, `service-unit`."""
        held = [("coordinator", self.coordinator), ("service-unit", self.service_unit)]
        return [role for role, contact in held if person.holds(contact.email)]

    def erase(self, person: DataSubject) -> bool:
        """Anonymise the coordinator and the service unit's contact if they name the person;
        whether anything changed. No event: the erasure's own is the only one."""
        changed = False
        if person.named(self.coordinator.email):
            self.coordinator = person.placeholder
            changed = True
        if person.named(self.service_unit.email):
            self.service_unit = ServiceUnit(name=ERASED_NAME, email=person.placeholder_address)
            changed = True
        return changed

    def _changed(self) -> DistrictCoordinationChanged:
        return DistrictCoordinationChanged(
            coordinator=self.coordinator, service_unit=self.service_unit
        )


class Bulletin(BaseModel):
    """Information from the Schulministerium, prepared by the district coordination."""

    id: str
    title: str
    body: str
    published_on: date
    author: Person
    network_ids: list[str]

    @classmethod
    def prepare(
        cls,
        bulletin_id: str,
        published_on: date,
        network_ids: list[str],
        command: commands.PublishBulletin,
    ) -> tuple[Bulletin, list[EventPayload]]:
        """A bulletin reaches every network; without networks there is nobody to tell."""
        if not network_ids:
            raise RuleViolation("there are no networks to publish to yet", "network_ids")
        bulletin = cls(
            id=bulletin_id,
            title=command.title,
            body=command.body,
            published_on=published_on,
            author=command.author,
            network_ids=sorted(network_ids),
        )
        content = {name: value for name, value in bulletin if name != "id"}
        return bulletin, [DistrictBulletinPublished(bulletin_id=bulletin_id, **content)]

    def erase(self, person: DataSubject) -> bool:
        """Anonymise the author if it is the person; whether anything changed."""
        if not person.named(self.author.email):
            return False
        self.author = person.placeholder
        return True
