"""From a consumed event to stored deliveries: the mail step of the reaction table, and the
district report's notes.

`send_mails` is the reaction of every event the rules table names: find the recipients by the
rules, render each mail and store it as pending. `note_development` records what the district
report will mention. The recipients projection (service_layer.projection) runs before them.

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

from notifications.adapters.repositories import Repositories
from notifications.domain.delivery import (
    Delivery,
    DeliveryStatus,
    RenderedMessage,
    delivery_id_for,
)
from notifications.domain.recipients import (
    Contact,
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
from notifications.service_layer.delivery_events import delivery_records
from notifications.service_layer.projection import RecipientsProjection
from rbn_shared.addresses import address_key, sendable
from rbn_shared.changes import Clock
from rbn_shared.events import Envelope
from rbn_shared.events.base import EventPayload
from rbn_shared.events.registry import CommitteeMemberUpdated
from rbn_shared.events.topics import Topics
from rbn_shared.logging import get_logger
from rbn_shared.metrics import DELIVERIES_FAILED
from rbn_shared.privacy import is_erased_address

log = get_logger(__name__)

SERVICE = "notifications"
REPORT_CONSUMER = f"{SERVICE}.report"  # the district report's deliveries (no Kafka consumer)


@dataclass(frozen=True)
class Sender:
    email: str
    name: str


@dataclass(frozen=True)
class Occasion:
    """What every delivery written for one cause shares."""

    event_type: str
    cause_id: str
    correlation_id: str
    stamp: datetime
    consumer: str  # the consumer whose event it is, for the metrics
    conference_id: str | None = None


@dataclass(frozen=True)
class Written:
    """One delivery as written, with its rendered message if it has one to send; the events
    and the `stage` of one that failed before sending."""

    delivery: Delivery
    message: RenderedMessage | None = None
    events: Sequence[EventPayload] = ()
    stage: str | None = None  # "address" or "compose"


class Notifier:
    def __init__(
        self,
        *,
        repositories: Repositories,
        renderer: MailRenderer,
        sender: Sender,
        clock: Clock,
        on_new_deliveries: Callable[[list[Delivery]], None] | None = None,
        events_topic: str = Topics().notifications,
    ) -> None:
        self._deliveries = repositories.deliveries
        self._directory = repositories.directory
        self._preferences = repositories.preferences
        self._developments = repositories.developments
        self._erasures = repositories.erasures
        self._renderer = renderer
        self._sender = sender
        self._clock = clock
        self._announce = on_new_deliveries
        self._topic = events_topic
        self.projection = RecipientsProjection(repositories.directory)

    # ------------------------------------------------------------------ reactions

    async def note_development(self, envelope: Envelope, payload: EventPayload) -> None:
        """Record what the district report will mention (once per event)."""
        development = development_of(
            envelope.type, payload, str(envelope.event_id), envelope.occurred_at, self._clock()
        )
        if development is not None:
            await self._developments.add(development)

    async def send_mails(self, envelope: Envelope, payload: EventPayload) -> None:
        """The mail step: one delivery per recipient the rules name for this event."""
        await self.notify(
            envelope.type,
            payload,
            cause_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id,
            stamp=envelope.occurred_at,
            network=self.projection.just_projected(envelope.event_id),
            consumer=_consumer_of(envelope),
        )

    async def resend_unsent_welcome(
        self, envelope: Envelope, payload: CommitteeMemberUpdated
    ) -> None:
        """Write a failed committee welcome again, to the member's address as it now is, under
        its original cause event: one delivery per (cause, address), whatever is redelivered."""
        network = self.projection.just_projected(envelope.event_id)
        if network is None:
            network, _ = await self._directory.network(payload.network.id)
        if network is None:
            return
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
        occasion = Occasion(
            rule.event_type,
            welcome.cause_event_id,
            envelope.correlation_id,
            envelope.occurred_at,
            _consumer_of(envelope),
        )
        created = await self._deliver(planning, payload, occasion, addressing)
        log.info(
            "committee welcome written again for a corrected address",
            cause_event_id=welcome.cause_event_id,
            created=created,
        )
        # Forget it, unless the new address failed too (then it is remembered for that one).
        await self._set_unsent_welcome(network.network_id, member.email, None, welcome)

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
        occasion = Occasion(event_type, cause_id, correlation_id, stamp, consumer, conference_id)
        return await self._deliver(planning, payload, occasion, addressing, extra)

    async def _deliver(
        self,
        planning: Plan,
        payload: Any,
        occasion: Occasion,
        addressing: Addressing,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Write and store the planned deliveries; returns how many are new."""
        planning = await self._without_erased(planning, payload, occasion.stamp)
        # No look-up before rendering whether a delivery exists: on a new event (the usual case)
        # none does, and the unique ids turn a repeated event's deliveries away when stored.
        outcomes = [self._refused(refused, occasion) for refused in planning.refused]
        for planned in planning.mails:
            outcomes.append(
                await self._render_delivery(planned, payload, occasion, addressing, extra)
            )
        created = await self._store_deliveries(outcomes)
        pending = [d for d in created if d.is_open()]
        if pending and self._announce is not None:
            self._announce(pending)  # stored and queued: the dispatcher may start them at once
        for outcome in outcomes:
            # Also when the delivery existed: the process may have died before remembering it.
            if outcome.stage is not None:
                await self.remember_unsent_welcome(outcome.delivery)
        return len(created)

    async def _without_erased(self, planning: Plan, payload: Any, occurred_at: datetime) -> Plan:
        """The plan without the people erased (placeholders, and those erased after the event
        occurred: an event read late must not bring them back), and none at all for an event
        about an erased person (the office's notice would name them); one look-up per event."""
        addresses = [m.recipient.email for m in planning.mails]
        addresses += [r.recipient.address for r in planning.refused]
        email = getattr(getattr(payload, "person", None), "email", None)
        about = address_key(str(email)) if email else None
        erased = await self._erasures.erased_after(
            [*addresses, *([about] if about else [])], occurred_at
        )
        if about is not None and about in erased:
            return Plan([], [])
        erased |= {a for a in addresses if is_erased_address(a)}
        if not erased:
            return planning
        return Plan(
            [m for m in planning.mails if m.recipient.email not in erased],
            [r for r in planning.refused if r.recipient.address not in erased],
        )

    async def _store_deliveries(self, outcomes: Sequence[Written]) -> list[Delivery]:
        """Store the rendered messages, then the deliveries, each with its event if it failed, in
        one write; returns the new ones (the others existed: their events were stored with them
        the first time)."""
        events = {
            o.delivery.delivery_id: delivery_records(
                o.delivery, o.events, self._topic, event_count=0
            )
            for o in outcomes
            if o.events
        }
        messages = [o.message for o in outcomes if o.message is not None]
        new_ids = await self._deliveries.add_all([o.delivery for o in outcomes], messages, events)
        created = []
        for outcome in outcomes:
            delivery = outcome.delivery
            if delivery.delivery_id not in new_ids:  # handled before: a redelivered event
                existing = await self._deliveries.get(delivery.delivery_id)
                if existing is not None and existing.delivery.is_open():
                    # The process may have died between storing it and queueing it.
                    await self._deliveries.sync_queue(existing.delivery)
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
        occasion: Occasion,
        recipient: Recipient | Refused,
        now: datetime,
    ) -> Delivery:
        """The delivery of one mail before it is written: what is known without rendering."""
        address = recipient.email if isinstance(recipient, Recipient) else recipient.address
        return Delivery(
            delivery_id=delivery_id_for(occasion.cause_id, address),
            cause_event_id=occasion.cause_id,
            cause_event_type=occasion.event_type,
            correlation_id=occasion.correlation_id,
            network_id=recipient.network_id,
            recipient=address,
            template=rule.template,
            category=rule.category,
            subject=f"(not written: {rule.template})",
            status=DeliveryStatus.PENDING,
            created_at=now,
            next_attempt_at=now,
            conference_id=occasion.conference_id,
            invitation_id=recipient.invitation_id,
            consumer=occasion.consumer,
        )

    def _refused(self, refused: RefusedMail, occasion: Occasion) -> Written:
        now = self._clock()
        failed = self._unwritten(refused.rule, occasion, refused.recipient, now)
        events = failed.failed_before_sending(f"address refused: {refused.recipient.reason}", now)
        return Written(failed, events=events, stage="address")

    async def _render_delivery(
        self,
        planned: PlannedMail,
        payload: Any,
        occasion: Occasion,
        addressing: Addressing,
        extra: Mapping[str, Any] | None,
    ) -> Written:
        """The delivery of one planned mail, rendered, with the recipient's preference applied;
        failed with the reason if it cannot be rendered or composed."""
        recipient = planned.recipient
        topic = planned.rule.category.opt_out_topic
        wanted = True
        if topic is not None:  # only then can a preference matter
            preferences, _ = await self._preferences.get(recipient.email)
            wanted = preferences.allows(topic)
        now = self._clock()
        unwritten = self._unwritten(planned.rule, occasion, recipient, now)
        message_id = message_id_for(unwritten.delivery_id)
        office = _office_contact(payload, addressing, recipient.network_id)
        context = {**({"contact": office} if office else {}), **(extra or {})}
        try:
            mail = self._renderer.render(
                planned.rule, recipient, payload, stamp=occasion.stamp, extra=context
            )
            names = network_names(recipient.network_name)
            message = compose(
                mail,
                recipient=recipient,
                sender_email=self._sender.email,
                sender_name=names["header"] if recipient.network_name else self._sender.name,
                reply_to=office.email if office else None,
                message_id=message_id,
                date=now,
            )
            needs_smtputf8 = sendable(recipient.email).needs_smtputf8
        except Exception as error:  # whatever it is, it concerns this one mail only
            reason = f"could not compose the mail: {type(error).__name__}: {error}"
            events = unwritten.failed_before_sending(reason, now)
            return Written(unwritten, events=events, stage="compose")
        written = replace(
            unwritten,
            subject=mail.subject,
            needs_smtputf8=needs_smtputf8,
            status=DeliveryStatus.PENDING if wanted else DeliveryStatus.SKIPPED,
            next_attempt_at=now if wanted else None,
            last_error=None if wanted else "the recipient opted out of this kind of mail",
        )
        # Only a mail that will be sent needs its message kept.
        rendered = RenderedMessage(written.delivery_id, message_id, message) if wanted else None
        return Written(written, message=rendered)

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


def _consumer_of(envelope: Envelope) -> str:
    """The consumer an event came through (they are named by producer), for the metrics."""
    return f"{SERVICE}.{envelope.producer}"


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
