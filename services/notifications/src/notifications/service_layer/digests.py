"""The education office's overview of the answers, at most one per network and period.

Each `participant-responded` is recorded as it is consumed (`record_response`, once per event
id). When a period ends (daily at 07:30 in Europe/Berlin by default, DIGEST_TIME and
DIGEST_INTERVAL), `tick` builds one overview per network from the answers recorded in it and
stores its deliveries, with ids derived from (network, period), before the schedule advances
(`service_layer.periodic`): a second instance or a restart stores nothing new, and the
dispatcher sends each delivery once. A period without answers sends nothing.
"""

from __future__ import annotations

from datetime import datetime

from notifications.adapters.repositories import DIGEST_SCHEDULE_ID
from notifications.domain.digest import RecordedResponse, build_digests
from notifications.domain.rules import RESPONSE_DIGEST_DUE
from notifications.service_layer.periodic import PeriodicMail
from rbn_shared.events import Envelope
from rbn_shared.events.conferences import ParticipantResponded
from rbn_shared.logging import get_logger

log = get_logger(__name__)


class ResponseDigests(PeriodicMail):
    schedule_id = DIGEST_SCHEDULE_ID

    async def record_response(self, envelope: Envelope, payload: ParticipantResponded) -> None:
        """The reaction to an answer: keep it for the next overview (once per event)."""
        await self.repositories.responses.add(
            RecordedResponse.of(
                payload,
                event_id=str(envelope.event_id),
                conference_version=envelope.aggregate_version,
                occurred_at=envelope.occurred_at,
                recorded_at=self.clock(),
            )
        )

    async def close_period(self, period_start: datetime, period_end: datetime) -> None:
        """One overview per network with answers in the period; none without."""
        responses = await self.repositories.responses.recorded_between(period_start, period_end)
        digests = build_digests(responses, period_start, period_end)
        if not digests:
            log.info("response digest skipped: no answers in the period")
        for digest in digests:
            created = await self.store_mail(
                RESPONSE_DIGEST_DUE, digest, "response-digest", period_end, digest=digest
            )
            log.info(
                "response digest stored",
                network_id=digest.network.id,
                deliveries=created,
                answers=digest.answer_count,
            )
