"""From a consumed event to stored deliveries: update the projection, note the development for
the district report, find the recipients by the rules, render each mail and store it as pending.

Every step is idempotent: the projection is version-guarded, a development is stored under its
event id, and a delivery under the unique key (event id, recipient). Handling an event twice
changes nothing the second time, so nobody gets a second mail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifications.adapters.repositories import (
    DeliveryRepository,
    DevelopmentRepository,
    DirectoryRepository,
    PreferencesRepository,
)
from notifications.domain.delivery import Delivery, DeliveryStatus, delivery_id_for
from notifications.domain.recipients import (
    Contact,
    DistrictCoordination,
    NetworkDirectory,
)
from notifications.domain.report import development_of
from notifications.domain.rules import (
    Addressing,
    Audience,
    PlannedMail,
    plan_with_rejections,
    rules_for,
)
from notifications.rendering.mails import MailRenderer, network_names
from notifications.rendering.message import compose, message_id_for
from rbn_shared.events import Envelope
from rbn_shared.logging import get_logger

log = get_logger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Sender:
    email: str
    name: str


class Notifier:
    def __init__(
        self,
        *,
        deliveries: DeliveryRepository,
        directory: DirectoryRepository,
        preferences: PreferencesRepository,
        developments: DevelopmentRepository,
        renderer: MailRenderer,
        sender: Sender,
        clock: Clock,
        on_new_deliveries: Callable[[list[Delivery]], None] | None = None,
    ) -> None:
        self._deliveries = deliveries
        self._directory = directory
        self._preferences = preferences
        self._developments = developments
        self._renderer = renderer
        self._sender = sender
        self._clock = clock
        self._announce = on_new_deliveries

    # ------------------------------------------------------------------ consumed events

    async def handle(self, envelope: Envelope, payload: Any) -> None:
        network = await self.update_projection(envelope, payload)
        development = development_of(
            envelope.type, payload, str(envelope.event_id), envelope.occurred_at, self._clock()
        )
        if development is not None:
            await self._developments.add(development)
        await self.notify(
            envelope.type,
            payload,
            cause_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id,
            stamp=envelope.occurred_at,
            network=network,
        )

    async def update_projection(self, envelope: Envelope, payload: Any) -> NetworkDirectory | None:
        """Apply the event to the recipients projection; returns the network as it now stands
        if the event changed one (the rules then address it without reading it again)."""
        version = envelope.aggregate_version
        match envelope.type:
            case "district-coordination-changed":
                await self._save_district(payload)
                return None
            case "network-registered" | "network-updated":
                office = Contact(str(payload.office.email).lower(), payload.office.name, version)
                return await self._change_network(
                    payload, lambda n: n.with_network(payload.network.name, office, version)
                )
            case "committee-member-added" | "committee-member-updated":
                contact = Contact(str(payload.person.email).lower(), payload.person.name, version)
                return await self._change_network(
                    payload, lambda n: n.with_member(payload.member_id, contact)
                )
            case "committee-member-removed":
                return await self._change_network(
                    payload, lambda n: n.without_member(payload.member_id, version)
                )
            case "office-staff-assigned":
                contact = Contact(str(payload.person.email).lower(), payload.person.name, version)
                return await self._change_network(
                    payload, lambda n: n.with_staff(payload.staff_id, contact)
                )
            case "office-staff-removed":
                return await self._change_network(
                    payload, lambda n: n.without_staff(payload.staff_id, version)
                )
        return None

    async def _change_network(
        self, payload: Any, change: Callable[[NetworkDirectory], NetworkDirectory]
    ) -> NetworkDirectory:
        network_id = payload.network.id
        async with self._directory.store.locked(network_id):
            known, version = await self._directory.network(network_id)
            current = known or NetworkDirectory(network_id, payload.network.name)
            changed = change(current)
            if known is None or changed != known:
                await self._directory.save_network(changed, version)
            return changed

    async def _save_district(self, payload: Any) -> None:
        district = DistrictCoordination(
            Contact(str(payload.coordinator.email).lower(), payload.coordinator.name),
            Contact(str(payload.service_unit.email).lower(), payload.service_unit.name),
        )
        async with self._directory.store.locked("district"):
            known, version = await self._directory.district()
            if known != district:
                await self._directory.save_district(district, version)

    # ------------------------------------------------------------------ deliveries

    async def notify(
        self,
        event_type: str,
        payload: Any,
        *,
        cause_id: str,
        correlation_id: str,
        stamp: datetime,
        extra: Mapping[str, Any] | None = None,
        network: NetworkDirectory | None = None,
    ) -> int:
        """Store one delivery per recipient the rules name; returns how many are new.

        `network` is the event's network as the projection just stored it, if at hand.
        """
        addressing = await self._addressing(event_type, payload, network)
        planning = plan_with_rejections(event_type, payload, addressing)
        if planning.rejected:
            log.warning("recipients with unusable addresses left out", count=planning.rejected)
        # No look-up before rendering whether a delivery exists: on a new event (the usual case)
        # none does, and the unique ids turn a repeated event's deliveries away when stored.
        rendered = [
            await self._render_delivery(
                planned, payload, event_type, cause_id, correlation_id, stamp, addressing, extra
            )
            for planned in planning.mails
        ]
        created = await self._store_deliveries(rendered)
        pending = [d for d in created if d.is_open()]
        if pending and self._announce is not None:
            self._announce(pending)  # stored and queued: the dispatcher may start them at once
        return len(created)

    async def _store_deliveries(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Store the deliveries in one write; returns the new ones (the others existed)."""
        new_ids = await self._deliveries.add_all(deliveries)
        created = []
        for delivery in deliveries:
            if delivery.delivery_id not in new_ids:  # handled before: a redelivered event
                existing = await self._deliveries.get(delivery.delivery_id)
                if existing is not None and existing[0].is_open():
                    # The process may have died between storing it and queueing it.
                    await self._deliveries.sync_queue(existing[0])
                continue
            created.append(delivery)
            log.info(
                "delivery stored" if delivery.is_open() else "delivery skipped: opted out",
                delivery_id=delivery.delivery_id,
                template=delivery.template,
                event_type=delivery.cause_event_type,
            )
        return created

    async def _addressing(
        self, event_type: str, payload: Any, known: NetworkDirectory | None
    ) -> Addressing:
        audiences = {rule.audience for rule in rules_for(event_type)}
        network_ref = getattr(payload, "network", None)
        network = None
        if known is not None and network_ref is not None and known.network_id == network_ref.id:
            network = known
        elif network_ref is not None:
            network, _ = await self._directory.network(network_ref.id)
        networks = (
            await self._directory.networks()
            if Audience.ALL_OFFICES_AND_COMMITTEES in audiences
            else []
        )
        district = None
        if Audience.DISTRICT_COORDINATION in audiences:
            district, _ = await self._directory.district()
        return Addressing(network=network, networks=networks, district=district)

    async def _render_delivery(
        self,
        planned: PlannedMail,
        payload: Any,
        event_type: str,
        cause_id: str,
        correlation_id: str,
        stamp: datetime,
        addressing: Addressing,
        extra: Mapping[str, Any] | None,
    ) -> Delivery:
        """The delivery of one planned mail, rendered, with the recipient's preference applied."""
        recipient = planned.recipient
        delivery_id = delivery_id_for(cause_id, recipient.email)
        topic = planned.rule.category.opt_out_topic
        wanted = True
        if topic is not None:  # only then can a preference matter
            preferences, _ = await self._preferences.get(recipient.email)
            wanted = preferences.allows(topic)
        office = _office_contact(payload, addressing, recipient.network_id)
        context = {**({"contact": office} if office else {}), **(extra or {})}
        mail = self._renderer.render(planned.rule, recipient, payload, stamp=stamp, extra=context)
        now = self._clock()
        names = network_names(recipient.network_name)
        message_id = message_id_for(delivery_id)
        message = compose(
            mail,
            recipient=recipient,
            sender_email=self._sender.email,
            sender_name=names["header"] if recipient.network_name else self._sender.name,
            reply_to=office.email if office else None,
            message_id=message_id,
            date=now,
        )
        return Delivery(
            delivery_id=delivery_id,
            cause_event_id=cause_id,
            cause_event_type=event_type,
            correlation_id=correlation_id,
            network_id=recipient.network_id,
            recipient=recipient.email,
            template=planned.rule.template,
            category=planned.rule.category,
            subject=mail.subject,
            message=message,
            message_id=message_id,
            status=DeliveryStatus.PENDING if wanted else DeliveryStatus.SKIPPED,
            created_at=now,
            next_attempt_at=now if wanted else None,
            last_error=None if wanted else "the recipient opted out of this kind of mail",
        )


def _office_contact(payload: Any, addressing: Addressing, network_id: str | None) -> Any:
    """Whom a recipient can answer: the conference's organiser, else the network's office."""
    organizer = getattr(payload, "organizer", None)
    if organizer is not None:
        return Contact(str(organizer.email), organizer.name)
    network = addressing.network
    if network is None or network.network_id != network_id:
        network = next((n for n in addressing.networks if n.network_id == network_id), None)
    if network is not None and network.office is not None:
        return network.office
    return None
