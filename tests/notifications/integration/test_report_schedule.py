"""The district report goes out once per period: its due time is persisted, its deliveries are
keyed by the period. Service layer against the real FerretDB, with a clock the test moves."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from notifications.adapters.repositories import (
    DeliveryRepository,
    DevelopmentRepository,
    DirectoryRepository,
)
from notifications.domain.recipients import Contact, DistrictCoordination
from notifications.domain.report import development_of
from notifications.domain.report_calendar import ReportCalendar
from notifications.service_layer.reports import ReportScheduler
from rbn_shared.outbox import AggregateStore, KeyedLocks
from rbn_tools.mail_examples import Examples
from tests.notifications.integration.support import MovedClock, periodic_mail_instance

pytestmark = pytest.mark.integration

T0 = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)  # a Monday, 07:00 in Berlin
WEEK = timedelta(days=7)


def scheduler(db: Any, clock: MovedClock) -> tuple[ReportScheduler, DeliveryRepository]:
    reports, repositories = periodic_mail_instance(
        ReportScheduler,
        db,
        ReportCalendar(interval=WEEK),
        clock,  # Mondays 07:00 in Berlin
    )
    return reports, repositories.deliveries


async def test_one_report_per_period_across_instances_and_restarts(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    clock = MovedClock(T0)
    first, deliveries = scheduler(db, clock)
    second, _ = scheduler(db, clock)
    ex = Examples(tag="report")
    directory = DirectoryRepository(AggregateStore(db["directory"], KeyedLocks()))
    await directory.save_district(
        DistrictCoordination(
            Contact("petra.report@bezreg.example.org", "Petra Hoffmann"),
            Contact("servicestelle.report@bezreg.example.org", "Servicestelle"),
        ),
        None,
    )

    assert await first.tick() is False, "the first tick only sets the first due time"
    adopted = development_of(
        "field-of-action-adopted", ex.field_of_action_adopted(), "e-1", T0, T0 + timedelta(days=2)
    )
    assert adopted is not None
    await DevelopmentRepository(db["developments"]).add(adopted)

    clock.now = T0 + WEEK + timedelta(minutes=1)
    assert await first.tick() is True
    assert await second.tick() is False, "another instance finds the period closed"
    assert await first.tick() is False, "a restarted instance too: the due time is stored"
    sent = await deliveries.search(limit=10)
    assert sorted(d.recipient for d in sent) == [
        "petra.report@bezreg.example.org",
        "servicestelle.report@bezreg.example.org",
    ]
    assert {d.template for d in sent} == {"district-report"}
    rendered = await deliveries.message(sent[0].delivery_id)
    assert rendered is not None
    text = email.message_from_string(rendered.text, policy=email.policy.default)
    assert isinstance(text, EmailMessage)
    body = text.get_body(("plain",))
    assert body is not None
    assert "* Bochum: Übergang Schule – Beruf" in body.get_content()

    # Nothing happened in the next period: no mail, but the period still closes.
    clock.now = T0 + 2 * WEEK + timedelta(minutes=1)
    assert await second.tick() is True
    assert len(await deliveries.search(limit=10)) == 2
