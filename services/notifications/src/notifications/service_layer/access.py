"""The right of access (Art. 15 DSGVO): what this service holds about one address.

Every record of the person once, each with its kind and its id: the deliveries to the address
(not the rendered mails: they are the service's copy of what was sent, deleted after the
retention period), the stored preferences, and the projection's copies of the person (committee
seats, office posts, the education office, the district coordination). Each export is recorded
in the privacy audit, by subject only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notifications.adapters.repositories import Repositories
from notifications.domain.recipients import DISTRICT_ID
from rbn_shared.addresses import address_key
from rbn_shared.changes import Clock
from rbn_shared.privacy import HeldAbout, PrivacyAudit, subject_of


@dataclass(frozen=True)
class SubjectRights:
    """This service's side of the shared privacy routes (rbn_shared.privacy_api)."""

    repositories: Repositories
    clock: Clock

    @property
    def audit(self) -> PrivacyAudit:
        return self.repositories.audit

    async def export(self, address: str, *, actor: str | None) -> HeldAbout:
        return await access_export(self.repositories, self.clock, address, actor)


async def access_export(
    repositories: Repositories, clock: Clock, address: str, actor: str | None
) -> HeldAbout:
    key = address_key(address)
    items: dict[tuple[str, str], dict[str, Any]] = {}

    def add(kind: str, record_id: str, **fields: Any) -> None:
        items.setdefault((kind, record_id), {"kind": kind, "id": record_id, **fields})

    for stored in await repositories.deliveries.to_any_of([key]):
        d = stored.delivery
        add(
            "delivery",
            d.delivery_id,
            mail=d.template,
            status=d.status.value,
            subject_line=d.subject,
            created_at=d.created_at,
            settled_at=d.settled_at,
            network_id=d.network_id,
        )
    preferences, version = await repositories.preferences.get(key)
    if version is not None:
        add("preferences", key, opted_out=sorted(t.value for t in preferences.opted_out))
    for network in await repositories.directory.networks():
        copies = [
            ("committee-member", network.committee),
            ("office-staff", network.staff),
            ("education-office", {"office": network.office} if network.office else {}),
        ]
        for kind, contacts in copies:
            for record_id, contact in contacts.items():
                if contact is not None and address_key(contact.email) == key:
                    add(
                        kind,
                        f"{network.network_id}/{record_id}",
                        network_id=network.network_id,
                        name=contact.name,
                        email=contact.email,
                    )
    district, _ = await repositories.directory.district()
    if district is not None:
        for role, contact in (
            ("coordinator", district.coordinator),
            ("service-unit", district.service_unit),
        ):
            if address_key(contact.email) == key:
                add(
                    "district-coordination",
                    f"{DISTRICT_ID}/{role}",
                    name=contact.name,
                    email=contact.email,
                )
    now = clock()
    subject = subject_of(key)
    await repositories.audit.record("access-export", subject, actor, now)
    return HeldAbout(subject, now, list(items.values()))
