"""Calendar replies received by mail: a REPLY becomes a `calendar-reply-received` event, a
COUNTER gets the fixed German answer that the date stands.

Both are durable before the listener answers 250, and both happen once per Message-ID:

- a REPLY is one document in `inbound_mails` under its inbound id (from the Message-ID) with
  its event in the document's outbox, in one insert; the relay publishes it. The same mail
  again finds the document there and adds nothing.
- a COUNTER's answer is a delivery like every other (stored, queued, sent by the dispatcher,
  listed in GET /deliveries) under the unique key (inbound id, address): the same mail again
  makes no second delivery.

Only the conferences service can verify a token; this service never answers a stranger: the
answer goes only to an address it has mailed an invitation of that conference and invitation
to, and its text is fixed (nothing from the inbound mail appears in it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pymongo.errors import DuplicateKeyError

from notifications.adapters.inbound_mail import read_mail
from notifications.adapters.repositories import Repositories
from notifications.domain.calendar_replies import (
    InboundMail,
    Method,
    ReplyToken,
    Unusable,
)
from notifications.domain.rules import CALENDAR_COUNTER_RECEIVED
from notifications.service_layer.notifier import Notifier
from rbn_shared.changes import Aggregate, Cause, Clock, outbox_records
from rbn_shared.events.base import Contact, NetworkRef
from rbn_shared.events.notifications import CalendarReplyReceived
from rbn_shared.logging import get_logger
from rbn_shared.outbox import AggregateStore

log = get_logger(__name__)

INBOUND_MAILS = "inbound_mails"
INBOUND_CONSUMER = "notifications.inbound"  # the counter answers' deliveries (no Kafka consumer)


class Outcome(StrEnum):
    RECORDED = "recorded"  # a REPLY's event stored
    ANSWERED = "answered"  # a COUNTER's answer stored as a delivery
    REPEATED = "repeated"  # the same mail again: nothing new


class NotTied(Exception):
    """A COUNTER that cannot be tied to an invitation this service mailed; `reason` is the
    label it is counted under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CounterAnswerDue:
    """The cause of an answer to a COUNTER (no Kafka event): whom it goes to, about what."""

    person: Contact
    network: NetworkRef | None
    conference_id: str
    invitation_id: str


@dataclass(kw_only=True)
class InboundReplies:
    store: AggregateStore
    repositories: Repositories
    notifier: Notifier
    clock: Clock
    events_topic: str

    async def receive(self, raw: bytes, tokens: Sequence[ReplyToken]) -> Outcome:
        """Take one mail to reply addresses (`tokens`: theirs, well-formed, at least one).

        Unusable for a mail that is no REPLY or COUNTER, NotTied for a COUNTER of nobody this
        service wrote to; any other exception is a passing failure (the listener answers 451 and
        the sending server tries again)."""
        mail = read_mail(raw, received_at=self.clock())
        token = tokens[0]  # one invitation per mail; a calendar answers one organiser
        if mail.calendar.method is Method.COUNTER:
            return await self._answer_counter(mail, token)
        return await self._record_reply(mail, token)

    async def _record_reply(self, mail: InboundMail, token: ReplyToken) -> Outcome:
        calendar = mail.calendar
        event = CalendarReplyReceived(
            reply_token=token.value,
            uid=calendar.uid,
            attendee=calendar.attendee,
            response=calendar.answer(),
            sequence=calendar.sequence,
            message_id=mail.message_id,
            received_at=mail.received_at,
        )
        inbound_id = mail.inbound_id
        records = outbox_records(
            [event],
            # Keyed by the token's conference: one conference's replies stay in order.
            Aggregate(inbound_id, key=token.conference_id, event_count=0),
            Cause(correlation_id=f"inbound-{inbound_id}"),
            self.events_topic,
            occurred_at=mail.received_at,
        )
        # Ids only: the address stays in the event, not in this record.
        document = {
            "_id": inbound_id,
            "method": calendar.method.value,
            "message_id": mail.message_id,
            "conference_id": token.conference_id,
            "invitation_id": token.invitation_id,
            "received_at": mail.received_at,
        }
        try:
            await self.store.insert(document, records)
        except DuplicateKeyError:
            return Outcome.REPEATED
        log.info(
            "calendar reply recorded",
            inbound_id=inbound_id,
            conference_id=token.conference_id,
            invitation_id=token.invitation_id,
        )
        return Outcome.RECORDED

    async def _answer_counter(self, mail: InboundMail, token: ReplyToken) -> Outcome:
        calendar = mail.calendar
        if calendar.conference_id != token.conference_id:
            raise NotTied("other-conference")
        invitation = await self.repositories.deliveries.mailed_about(
            calendar.attendee, token.conference_id, token.invitation_id
        )
        if invitation is None:
            raise NotTied("unknown-attendee")
        network = None
        if invitation.network_id is not None:
            known, _ = await self.repositories.directory.network(invitation.network_id)
            if known is not None:
                office = known.office.email if known.office is not None else None
                network = NetworkRef(id=known.network_id, name=known.name, office_email=office)
        due = CounterAnswerDue(
            # The address the invitation went to, never a name from the inbound mail.
            person=Contact(name=invitation.recipient, email=invitation.recipient),
            network=network,
            conference_id=token.conference_id,
            invitation_id=token.invitation_id,
        )
        created = await self.notifier.notify(
            CALENDAR_COUNTER_RECEIVED,
            due,
            cause_id=mail.inbound_id,
            correlation_id=f"inbound-{mail.inbound_id}",
            stamp=mail.received_at,
            consumer=INBOUND_CONSUMER,
            extra={"greeting": "Guten Tag,"},  # no name: the inbound mail's is not trusted
        )
        log.info(
            "counter proposal answered" if created else "counter proposal repeated",
            inbound_id=mail.inbound_id,
            conference_id=token.conference_id,
            invitation_id=token.invitation_id,
        )
        return Outcome.ANSWERED if created else Outcome.REPEATED


__all__ = ["CounterAnswerDue", "InboundReplies", "NotTied", "Outcome", "Unusable"]
