"""Retention (DSGVO Art. 5(1)(e)): what a settled delivery keeps, and for how long.

A delivery settled (sent, finally failed, cancelled) keeps its rendered mail, with the personal
response and unsubscribe links in it, for `message_retention_days`; then the mail is deleted.
The record itself (status, times: what the counts and the pages read) stays, with its recipient
anonymised after `delivery_retention_days`. Nothing younger is touched.

Run periodically (the service's `every`); each pass works in batches found by the settle time
(indexed) and marks what it did, so a pass that is cut off continues where it stopped and a
second instance doing the same is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from notifications.adapters.repositories import (
    DeliveryRepository,
    DevelopmentRepository,
    ResponseRepository,
)
from rbn_shared.changes import Clock
from rbn_shared.logging import get_logger
from rbn_shared.privacy import ERASED_NAME, erased_address, is_erased_address, subject_of

log = get_logger(__name__)

BATCH = 200
MESSAGE_GONE = "message_deleted"  # the flags a pass sets on what it did
ANONYMISED = "anonymised"


@dataclass(kw_only=True)
class Retention:
    deliveries: DeliveryRepository
    clock: Clock
    message_days: int
    delivery_days: int
    # What the periodic mails are built from names people too: the answers for an office's
    # daily overview go with the mails' bodies, the district report's developments (the
    # portal's Wochenbericht reads past weeks) with the delivery records.
    answers: ResponseRepository | None = None
    developments: DevelopmentRepository | None = None

    async def tick(self) -> tuple[int, int]:
        """One pass; returns how many messages were deleted and records anonymised."""
        now = self.clock()
        while await self.deliveries.date_old_settlements(BATCH):
            pass  # records from before `settled_at`: once, after the upgrade
        messages = await self._delete_messages(now - timedelta(days=self.message_days))
        records = await self._anonymise(now - timedelta(days=self.delivery_days))
        if self.answers is not None:
            await self.answers.forget_recorded_before(now - timedelta(days=self.message_days))
        if self.developments is not None:
            await self.developments.forget_recorded_before(now - timedelta(days=self.delivery_days))
        if messages or records:
            log.info("retention applied", messages_deleted=messages, records_anonymised=records)
        return messages, records

    async def _delete_messages(self, cutoff: datetime) -> int:
        done = 0
        while batch := await self.deliveries.settled_before(cutoff, MESSAGE_GONE, BATCH):
            ids = [d.delivery_id for d in batch]
            await self.deliveries.forget_messages(ids)
            await self.deliveries.mark(ids, MESSAGE_GONE)
            done += len(ids)
        return done

    async def _anonymise(self, cutoff: datetime) -> int:
        done = 0
        while batch := await self.deliveries.settled_before(cutoff, ANONYMISED, BATCH):
            for delivery in batch:
                # The placeholder per address: "how many mails one person got" still holds.
                address = delivery.recipient
                if not is_erased_address(address):
                    delivery.anonymise(erased_address(subject_of(address)), ERASED_NAME, [address])
                delivery.subject = f"({delivery.template})"  # a subject line may name people
                if delivery.last_error is not None:
                    delivery.last_error = "(removed after the retention period)"
            await self.deliveries.anonymise_all(batch, ANONYMISED)
            done += len(batch)
        return done
