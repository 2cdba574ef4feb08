"""The audit trail's reaction table: every audited event recorded, a run of them in one write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from rbn_shared.events import Envelope
from rbn_shared.events.catalogue import CATALOGUE
from registry.adapters.changes import ChangeLog
from registry.service_layer.audit import AUDITED_PRODUCERS, audit_trail


class RecordingLog:
    """Stands in for the ChangeLog's one method the trail uses."""

    def __init__(self) -> None:
        self.writes: list[list[Any]] = []

    async def record(self, envelopes: Sequence[Envelope]) -> None:
        self.writes.append(list(envelopes))


def test_every_event_of_the_audited_producers_is_on_the_trail_and_may_come_together() -> None:
    trail = audit_trail(cast(ChangeLog, RecordingLog()))
    audited = {t for t, spec in CATALOGUE.items() if spec.producer in AUDITED_PRODUCERS}
    assert set(trail.event_types) == audited
    assert "notification-sent" not in audited  # deliveries are not network changes
    assert trail.together is not None
    assert trail.together.types == audited


async def test_a_run_of_events_is_recorded_in_one_write_and_one_alone_in_its_own() -> None:
    log = RecordingLog()
    trail = audit_trail(cast(ChangeLog, log))
    assert trail.together is not None
    run = [cast(Envelope, f"envelope-{i}") for i in range(3)]
    await trail.together.handler([(envelope, None) for envelope in run])
    [handler] = next(iter(trail.table.values()))
    await handler(cast(Envelope, "alone"), None)
    assert log.writes == [run, ["alone"]]
