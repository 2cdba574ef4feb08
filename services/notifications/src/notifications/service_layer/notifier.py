"""From a consumed event to stored deliveries: update the projection, note the development for
the district report, find the recipients by the rules, render each mail and store it as pending.

Every step is idempotent: the projection is version-guarded, a development is stored under its
event id, and a delivery under the unique key (event id, recipient). Handling an event twice
changes nothing the second time, so nobody gets a second mail.

One bad value fails one delivery, never the event: a recipient whose address the policy refuses,
or whose mail cannot be rendered or composed, gets a delivery stored as failed with the reason
and its `notification-failed` event (in the same write); every other delivery goes out as usual.
A committee welcome that failed is remembered in the projection and written again, under its
original cause event, once a committee-member-updated brings a different address.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
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
    Recipient,
    Refused,
    UnsentWelcome,
)
from notifications.domain.report import development_of
from notifications.domain.rules import (
    WELCOME_RULE,
    Addressing,
    Audience,
    Plan,
    PlannedMail,
    RefusedMail,
    Rule,
    plan_with_rejections,
    recipients_of,
    rules_for,
)
from notifications.rendering.mails import MailRenderer, network_names
from notifications.rendering.message import compose, message_id_for
from rbn_shared.addresses import address_key, sendable
from rbn_shared.events import Envelope, new_event
from rbn_shared.events.notifications import NotificationFailed
from rbn_shared.events.registry import DISTRICT_KEY
from rbn_shared.events.topics import Topics
from rbn_shared.logging import get_logger
from rbn_shared.metrics import DELIVERIES_FAILED
from rbn_shared.outbox import OutboxRecord

log = get_logger(__name__)

Clock = Callable[[], datetime]
SERVICE = "notifications"
REPORT_CONSUMER = f"{SERVICE}.report"  # the district report's deliveries (no Kafka consumer)


@dataclass(frozen=True)
class Sender:
    email: str
    name: str


@dataclass(frozen=True)
class Cause:
    """What every delivery written for one cause shares."""

    event_type: str
    cause_id: str
    correlation_id: str
    stamp: datetime
    consumer: str  # the consumer whose event it is, for the metrics
    conference_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    """One delivery as written; `failure` and `stage` for one that failed before sending."""

    delivery: Delivery
    failure: NotificationFailed | None = None
    stage: str | None = None  # "address" or "compose"


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
        events_topic: str = Topics().notifications,
    ) -> None:
        self._deliveries = deliveries
        self._directory = directory
        self._preferences = preferences
        self._developments = developments
        self._renderer = renderer
        self._sender = sender
        self._clock = clock
        self._announce = on_new_deliveries
        self._topic = events_topic

    # ------------------------------------------------------------------ consumed events

    async def handle(self, envelope: Envelope, payload: Any) -> None:
        network = await self.update_projection(envelope, payload)
        development = development_of(
            envelope.type, payload, str(envelope.event_id), envelope.occurred_at, self._clock()
        )
        if development is not None:
            await self._developments.add(development)
        consumer = f"{SERVICE}.{envelope.producer}"  # the consumers are named by producer
        await self.notify(
            envelope.type,
            payload,
            cause_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id,
            stamp=envelope.occurred_at,
            network=network,
            consumer=consumer,
        )
        if envelope.type == "committee-member-updated" and network is not None:
            await self._resend_unsent_welcome(envelope, payload, network, consumer)

    async def update_projection(self, envelope: Envelope, payload: Any) -> NetworkDirectory | None:
        """Apply the event to the recipients projection; returns the network as it now stands
        if the event changed one (the rules then address it without reading it again)."""
        version = envelope.aggregate_version
        match envelope.type:
            case "district-coordination-changed":
                await self._save_district(payload)
                return None
            case "network-registered" | "network-updated":
                office = Contact(address_key(payload.office.email), payload.office.name, version)
                return await self._change_network(
                    payload, lambda n: n.with_network(payload.network.name, office, version)
                )
            case "committee-member-added" | "committee-member-updated":
                contact = Contact(address_key(payload.person.email), payload.person.name, version)
                return await self._change_network(
                    payload, lambda n: n.with_member(payload.member_id, contact)
                )
            case "committee-member-removed":
                return await self._change_network(
                    payload, lambda n: n.without_member(payload.member_id, version)
                )
            case "office-staff-assigned":
                contact = Contact(address_key(payload.person.email), payload.person.name, version)
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
            Contact(address_key(payload.coordinator.email), payload.coordinator.name),
            Contact(address_key(payload.service_unit.email), payload.service_unit.name),
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
        consumer: str = REPORT_CONSUMER,
    ) -> int:
        """Store one delivery per recipient the rules name; returns how many are new.

        `network` is the event's network as the projection just stored it, if at hand.
        """
        addressing = await self._addressing(event_type, payload, network)
        planning = plan_with_rejections(event_type, payload, addressing)
        conference_id = getattr(payload, "conference_id", None)
        cause = Cause(event_type, cause_id, correlation_id, stamp, consumer, conference_id)
        return await self._deliver(planning, payload, cause, addressing, extra)

    async def _deliver(
        self,
        planning: Plan,
        payload: Any,
        cause: Cause,
        addressing: Addressing,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Write and store the planned deliveries; returns how many are new."""
        # No look-up before rendering whether a delivery exists: on a new event (the usual case)
        # none does, and the unique ids turn a repeated event's deliveries away when stored.
        outcomes = [self._refused(refused, cause) for refused in planning.refused]
        for planned in planning.mails:
            outcomes.append(await self._render_delivery(planned, payload, cause, addressing, extra))
        created = await self._store_deliveries(outcomes)
        pending = [d for d in created if d.is_open()]
        if pending and self._announce is not None:
            self._announce(pending)  # stored and queued: the dispatcher may start them at once
        for outcome in outcomes:
            # Also when the delivery existed: the process may have died before remembering it.
            if outcome.stage is not None:
                await self.remember_unsent_welcome(outcome.delivery)
        return len(created)

    async def _store_deliveries(self, outcomes: Sequence[Outcome]) -> list[Delivery]:
        """Store the deliveries, each with its event if it failed, in one write; returns the new
        ones (the others existed: their events were stored with them the first time)."""
        events = {
            o.delivery.delivery_id: [self._outbox_record(o.delivery, o.failure)]
            for o in outcomes
            if o.failure is not None
        }
        new_ids = await self._deliveries.add_all([o.delivery for o in outcomes], events)
        created = []
        for outcome in outcomes:
            delivery = outcome.delivery
            if delivery.delivery_id not in new_ids:  # handled before: a redelivered event
                existing = await self._deliveries.get(delivery.delivery_id)
                if existing is not None and existing[0].is_open():
                    # The process may have died between storing it and queueing it.
                    await self._deliveries.sync_queue(existing[0])
                continue
            created.append(delivery)
            if outcome.stage is not None:
                consumer = delivery.consumer or REPORT_CONSUMER
                DELIVERIES_FAILED.labels(SERVICE, consumer, outcome.stage).inc()
                log.warning(
                    "delivery failed before sending",
                    delivery_id=delivery.delivery_id,
                    template=delivery.template,
                    event_type=delivery.cause_event_type,
                    stage=outcome.stage,
                    reason=delivery.last_error,
                )
                continue
            log.info(
                "delivery stored" if delivery.is_open() else "delivery skipped: opted out",
                delivery_id=delivery.delivery_id,
                template=delivery.template,
                event_type=delivery.cause_event_type,
            )
        return created

    def _outbox_record(self, delivery: Delivery, failure: NotificationFailed) -> OutboxRecord:
        envelope = new_event(
            failure,
            key=delivery.network_id or DISTRICT_KEY,
            aggregate_id=delivery.delivery_id,
            aggregate_version=1,  # the delivery's first version: stored together with it
            correlation_id=delivery.correlation_id,
            causation_id=delivery.cause_event_id,
        )
        return OutboxRecord.of(envelope, self._topic)

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

    def _unwritten(
        self,
        rule: Rule,
        cause: Cause,
        recipient: Recipient | Refused,
        now: datetime,
    ) -> Delivery:
        """The delivery of one mail before it is written: what is known without rendering."""
        address = recipient.email if isinstance(recipient, Recipient) else recipient.address
        delivery_id = delivery_id_for(cause.cause_id, address)
        return Delivery(
            delivery_id=delivery_id,
            cause_event_id=cause.cause_id,
            cause_event_type=cause.event_type,
            correlation_id=cause.correlation_id,
            network_id=recipient.network_id,
            recipient=address,
            template=rule.template,
            category=rule.category,
            subject=f"(not written: {rule.template})",
            message="",
            message_id=message_id_for(delivery_id),
            status=DeliveryStatus.PENDING,
            created_at=now,
            next_attempt_at=now,
            conference_id=cause.conference_id,
            invitation_id=recipient.invitation_id,
            consumer=cause.consumer,
        )

    def _refused(self, refused: RefusedMail, cause: Cause) -> Outcome:
        now = self._clock()
        unwritten = self._unwritten(refused.rule, cause, refused.refused, now)
        reason = f"address refused: {refused.refused.reason}"
        failed, event = unwritten.failed_before_sending(reason, now)
        return Outcome(failed, event, "address")

    async def _render_delivery(
        self,
        planned: PlannedMail,
        payload: Any,
        cause: Cause,
        addressing: Addressing,
        extra: Mapping[str, Any] | None,
    ) -> Outcome:
        """The delivery of one planned mail, rendered, with the recipient's preference applied;
        failed with the reason if it cannot be rendered or composed."""
        recipient = planned.recipient
        topic = planned.rule.category.opt_out_topic
        wanted = True
        if topic is not None:  # only then can a preference matter
            preferences, _ = await self._preferences.get(recipient.email)
            wanted = preferences.allows(topic)
        now = self._clock()
        unwritten = self._unwritten(planned.rule, cause, recipient, now)
        office = _office_contact(payload, addressing, recipient.network_id)
        context = {**({"contact": office} if office else {}), **(extra or {})}
        try:
            mail = self._renderer.render(
                planned.rule, recipient, payload, stamp=cause.stamp, extra=context
            )
            names = network_names(recipient.network_name)
            message = compose(
                mail,
                recipient=recipient,
                sender_email=self._sender.email,
                sender_name=names["header"] if recipient.network_name else self._sender.name,
                reply_to=office.email if office else None,
                message_id=unwritten.message_id,
                date=now,
            )
            needs_smtputf8 = sendable(recipient.email).needs_smtputf8
        except Exception as error:  # whatever it is, it concerns this one mail only
            reason = f"could not compose the mail: {type(error).__name__}: {error}"
            failed, event = unwritten.failed_before_sending(reason, now)
            return Outcome(failed, event, "compose")
        written = replace(
            unwritten,
            subject=mail.subject,
            message=message,
            needs_smtputf8=needs_smtputf8,
            status=DeliveryStatus.PENDING if wanted else DeliveryStatus.SKIPPED,
            next_attempt_at=now if wanted else None,
            last_error=None if wanted else "the recipient opted out of this kind of mail",
        )
        return Outcome(written)

    # ------------------------------------------------------------------ failed welcomes

    async def remember_unsent_welcome(self, delivery: Delivery) -> None:
        """Note a failed committee welcome at the member(s) with its address, so that a
        corrected address gets it. Also called by the dispatcher for a failed sending."""
        if delivery.template != WELCOME_RULE.template or delivery.network_id is None:
            return
        welcome = UnsentWelcome(delivery.cause_event_id, delivery.template, delivery.recipient)
        await self._set_unsent_welcome(delivery.network_id, delivery.recipient, welcome, None)

    async def _set_unsent_welcome(
        self,
        network_id: str,
        address: str,
        welcome: UnsentWelcome | None,
        replacing: UnsentWelcome | None,
    ) -> None:
        """One small version-guarded write: the memory of the members still at `address` (or,
        with `replacing`, of those that remember exactly that) becomes `welcome`."""
        async with self._directory.store.locked(network_id):
            known, version = await self._directory.network(network_id)
            if known is None:
                return
            changed = known
            for member_id, contact in known.committee.items():
                if replacing is not None:
                    if contact.unsent_welcome != replacing:
                        continue
                elif contact.email != address_key(address):
                    continue  # the address was changed meanwhile
                changed = changed.with_unsent_welcome(member_id, welcome)
            if changed != known:
                await self._directory.save_network(changed, version)

    async def _resend_unsent_welcome(
        self, envelope: Envelope, payload: Any, network: NetworkDirectory, consumer: str
    ) -> None:
        """Write the failed welcome again, to the member's address as it now is, under its
        original cause event: one delivery per (cause, address), whatever is redelivered."""
        member = network.committee.get(payload.member_id)
        welcome = member.unsent_welcome if member is not None else None
        if member is None or welcome is None or welcome.address == member.email:
            return  # nothing failed, or the address is still the one that failed
        rule = WELCOME_RULE
        addressing = Addressing(network=network)
        candidates = recipients_of(rule.audience, payload, addressing)
        planning = Plan(
            [PlannedMail(rule, r) for r in candidates if isinstance(r, Recipient)],
            [RefusedMail(rule, r) for r in candidates if isinstance(r, Refused)],
        )
        cause = Cause(
            rule.event_type,
            welcome.cause_event_id,
            envelope.correlation_id,
            envelope.occurred_at,
            consumer,
        )
        created = await self._deliver(planning, payload, cause, addressing)
        log.info(
            "committee welcome written again for a corrected address",
            cause_event_id=welcome.cause_event_id,
            created=created,
        )
        # Forget it, unless the new address failed too (then it is remembered for that one).
        await self._set_unsent_welcome(network.network_id, member.email, None, welcome)


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
