"""Event load for the throughput script and the benchmark, published as the services publish.

Two kinds of load: committee members added (two mails per event, the new member and the network's
office; each event also changes the projections of the committee) and conferences
scheduled (one invitation with a calendar entry per invitee, recipients taken from the event).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from aiokafka import AIOKafkaProducer

from rbn_shared.events import Envelope, new_event
from rbn_shared.events.base import NetworkRef, Person, Side
from rbn_shared.events.registry import CommitteeMember, CommitteeMemberAdded, CommitteeRole
from rbn_tools.mail_examples import Examples

# A Lenkungskreis has 15 to 30 members: the load fills seats in turn (a new person replaces the
# seat's previous holder) instead of growing one committee to hundreds of members, which would
# measure the size of the committee documents rather than the pipeline.
COMMITTEE_SIZE = 30


def seat_of(n: int, networks: int) -> int:
    """The seat the n-th member event fills when events go round `networks` networks."""
    return (n // networks) % COMMITTEE_SIZE


def member_event(
    network: str,
    n: int,
    run: str,
    version: int,
    model: type[CommitteeMember] = CommitteeMemberAdded,
    domain: str = "load.example.org",
    seat: int | None = None,
) -> Envelope:
    """A committee member event for a new person (`n`) in a seat of the committee (`n` itself
    unless given); `added` makes two mails, `updated` none (projection only)."""
    payload = model(
        network=NetworkRef(
            id=network, name=f"RBN {network}", office_email=f"office.{run}@{domain}"
        ),
        member_id=f"mem-{run}-{n if seat is None else seat}",
        person=Person(name=f"Mitglied {n}", email=f"m{n}.{run}@{domain}", organisation="Schule"),
        side=Side.MUNICIPALITY,
        role=CommitteeRole.MEMBER,
        term_start=date(2027, 1, 1),
    )
    return new_event(
        payload,
        key=network,
        aggregate_id=network,
        aggregate_version=version,
        correlation_id=f"load-{run}-{n}",
    )


def conference_scheduled(network: str, n: int, run: str, invitees: int) -> Envelope:
    """A conference of `network` scheduled with `invitees` invitees: that many invitations."""
    examples = Examples(tag=f"{run}.{n}", network_id=network, conference_id=f"konf-{run}-{n}")
    payload = examples.conference_scheduled([examples.invitee(i) for i in range(invitees)])
    return new_event(
        payload,
        key=network,
        aggregate_id=payload.conference_id,
        aggregate_version=1,
        correlation_id=f"load-{run}-{n}",
    )


async def publish(bootstrap: str, topic: str, envelopes: Sequence[Envelope]) -> None:
    """Publish with the key and headers the outbox relay gives every event."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        sends = [
            await producer.send(
                topic,
                envelope.to_wire(),
                key=envelope.key.encode(),
                headers=[(k, v.encode()) for k, v in envelope.kafka_headers().items()],
            )
            for envelope in envelopes
        ]
        for send in sends:
            await send
    finally:
        await producer.stop()
