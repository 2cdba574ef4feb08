"""Rebuild the network projection from scratch: empty it, replay the registry topic into it.

The projection is a pure fold of the registry events (see domain/projection.py): the rebuild
replays the event types of `FOLDS` through the same `project_registry_event` as the consumer, so
the rebuilt views equal the ones the running consumer built. Run it while the service is stopped
(or accept that answers given meanwhile read a half-built projection); invitee lists are not
touched. Erased persons stay erased (see `rebuild_projection`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from pydantic import ValidationError

from conferences.adapters.replay import replay_topic
from conferences.adapters.repositories import NETWORKS, NetworkProjection
from conferences.domain.projection import FOLDS
from conferences.service_layer.services import project_registry_event
from conferences.settings import ConferencesSettings
from rbn_shared.events import Envelope, UnknownEvent, parse_payload
from rbn_shared.logging import get_logger
from rbn_shared.mongo import connect, database
from rbn_shared.outbox import KeyedLocks
from rbn_shared.privacy import ErasureLedger

log = get_logger(__name__)


@dataclass
class RebuildSummary:
    """What a rebuild did, counted as it goes: registry records read, events folded in, networks
    known after."""

    events: int = 0
    applied: int = 0
    networks: int = 0

    def __str__(self) -> str:
        return (
            f"projection rebuilt: {self.events} events replayed, {self.applied} applied, "
            f"{self.networks} networks"
        )


async def rebuild_projection(
    settings: ConferencesSettings, progress: Callable[[int], None] | None = None
) -> RebuildSummary:
    """`progress(n)` is told the number of records read so far, every few hundred records."""
    folded = {payload.event_type for payload in FOLDS}
    client = connect(settings)
    try:
        db = database(client, settings)
        projection = NetworkProjection(db[NETWORKS], KeyedLocks())
        # The ledger survives the rebuild: a replayed event naming a person erased since is
        # folded in anonymised, as the consumer folds it.
        erasures = ErasureLedger(db)
        removed = await projection.clear()
        log.info("projection emptied", networks_removed=removed)
        summary = RebuildSummary()
        async for value in replay_topic(settings.kafka_bootstrap_servers, settings.topics.registry):
            summary.events += 1
            if progress is not None and summary.events % 200 == 0:
                progress(summary.events)
            try:
                envelope = Envelope.from_wire(value)
                if envelope.type not in folded:
                    continue
                payload = parse_payload(envelope)
            except (ValidationError, ValueError, UnknownEvent) as error:
                # The live consumer dead-lettered these too; the projection never saw them.
                log.warning("skipping an unreadable registry record", error=str(error)[:300])
                continue
            if await project_registry_event(projection, envelope, payload, erasures):
                summary.applied += 1
        if progress is not None:
            progress(summary.events)
        summary.networks = len(await projection.all())
        log.info("projection rebuilt", **asdict(summary))
        return summary
    finally:
        await client.close()
