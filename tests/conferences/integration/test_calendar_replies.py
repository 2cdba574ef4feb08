"""A calendar's answer (the `calendar-reply-received` event) is applied like a link answer once
its token ties it to the invitation, and refused with its reason otherwise (real FerretDB)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from conferences.adapters.links import ReplyAddresses
from conferences.domain.model import Delegate
from conferences.service_layer import commands
from conferences.service_layer.services import ConferenceService
from rbn_shared.changes import Cause
from rbn_shared.events.conferences import Response, StakeholderGroup
from rbn_shared.events.notifications import CalendarAnswer, CalendarReplyReceived
from tests.conferences.use_cases import CAUSE, DISTRICT, schedule_online, service_on

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, object]]
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
START = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)
DORA = Delegate("Dora Yilmaz", "dora@example.org", None, StakeholderGroup.SCHOOL)


def reply(
    token: str, conference_id: str, attendee: str, answer: CalendarAnswer, sequence: int = 0
) -> CalendarReplyReceived:
    return CalendarReplyReceived(
        reply_token=token,
        uid=f"conference-{conference_id}@rbn-arnsberg.nrw.de",
        attendee=attendee,
        response=answer,
        sequence=sequence,
        message_id="<m@client>",
        received_at=NOW,
    )


async def test_a_tied_reply_is_applied_and_every_untied_one_refused_with_its_reason(
    mongo: Mongo, isolated: dict[str, str]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    clock = [NOW]
    service = await service_on(db, lambda: clock[0])
    replies = ReplyAddresses("secret", "antworten.example.org", timedelta(days=1))
    service = dataclasses.replace(service, replies=replies)
    scheduled = await schedule_online(service, START, capacity=1, delegates=(DORA,))
    conference = scheduled.value
    clara, dora = conference.invitations

    def token(invitation_id: str, conference_id: str = conference.conference_id) -> str:
        address = replies.address(conference_id, invitation_id, conference_ends_at=START)
        assert address is not None
        return address.split("@")[0].removeprefix("antwort+")

    async def apply(event: CalendarReplyReceived) -> str | None:
        return await service.answer_by_calendar(event, Cause("test"))

    # Clara takes the one seat, Dora waits; Clara declines and Dora moves up.
    clara_token, dora_token = token(clara.invitation_id), token(dora.invitation_id)
    cid = conference.conference_id
    assert (
        await apply(reply(clara_token, cid, "clara@example.org", CalendarAnswer.ACCEPTED)) is None
    )
    assert await apply(reply(dora_token, cid, "Dora@Example.org", CalendarAnswer.ACCEPTED)) is None
    current = (await service.get(cid)).value
    assert current.invitation(dora.invitation_id).waitlisted
    version = (await service.get(cid)).version
    assert (
        await apply(reply(clara_token, cid, "clara@example.org", CalendarAnswer.ACCEPTED)) is None
    )
    assert (await service.get(cid)).version == version, "the same answer again changes nothing"
    assert (
        await apply(reply(clara_token, cid, "clara@example.org", CalendarAnswer.DECLINED)) is None
    )
    current = (await service.get(cid)).value
    assert current.invitation(dora.invitation_id).has_seat

    # Untied: each refused with its reason, nothing changed.
    version = (await service.get(cid)).version
    forged = dora_token[:-1] + ("a" if dora_token[-1] != "a" else "b")
    other = token(dora.invitation_id, conference_id="ffffffffffff")
    refusals = {
        "bad-signature": reply(forged, cid, "dora@example.org", CalendarAnswer.DECLINED),
        "malformed-token": reply("nonsense", cid, "dora@example.org", CalendarAnswer.DECLINED),
        "other-conference": reply(
            dora_token, "ffffffffffff", "dora@example.org", CalendarAnswer.DECLINED
        ),
        "unknown-conference": reply(
            other, "ffffffffffff", "dora@example.org", CalendarAnswer.DECLINED
        ),
        "unknown-invitation": reply(
            token("inv-99"), cid, "dora@example.org", CalendarAnswer.DECLINED
        ),
        "attendee-mismatch": reply(clara_token, cid, "dora@example.org", CalendarAnswer.DECLINED),
    }
    for reason, event in refusals.items():
        assert await apply(event) == reason
    assert (await service.get(cid)).version == version
    assert (await service.get(cid)).value.invitation(
        dora.invitation_id
    ).response == Response.ACCEPTED

    # Too late: after the start, and once cancelled.
    clock[0] = START + timedelta(minutes=5)
    late = reply(dora_token, cid, "dora@example.org", CalendarAnswer.DECLINED)
    assert await apply(late) == "closed"
    clock[0] = NOW
    cancel = commands.ChangeConference(
        actor=DISTRICT,
        cause=CAUSE,
        conference_id=cid,
        expected_version=(await service.get(cid)).version,
        change=commands.Cancel(reason="Krankheit"),
    )
    await service.change(cancel)
    assert await apply(late) == "cancelled"


async def test_a_reply_to_a_time_since_moved_is_refused_but_other_changes_keep_it_valid(
    mongo: Mongo, isolated: dict[str, str]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    service = await service_on(db, lambda: NOW)
    replies = ReplyAddresses("secret", "antworten.example.org", timedelta(days=1))
    service = dataclasses.replace(service, replies=replies)
    erik = Delegate("Erik Brandt", "erik@example.org", None, StakeholderGroup.BUSINESS)
    scheduled = await schedule_online(service, START, delegates=(DORA, erik))
    cid = scheduled.value.conference_id
    _, dora, erik_invitation = scheduled.value.invitations
    address = replies.address(cid, dora.invitation_id, conference_ends_at=START + timedelta(days=7))
    assert address is not None
    dora_token = address.split("@")[0].removeprefix("antwort+")

    async def change(change: commands.Change) -> None:
        version = (await service.get(cid)).version
        await service.change(
            commands.ChangeConference(
                actor=DISTRICT,
                cause=CAUSE,
                conference_id=cid,
                expected_version=version,
                change=change,
            )
        )

    async def apply(answer: CalendarAnswer, sequence: int) -> str | None:
        event = reply(dora_token, cid, "dora@example.org", answer, sequence)
        return await service.answer_by_calendar(event, Cause("test"))

    # Another's withdrawal raises the SEQUENCE but keeps the time: the first entry still counts.
    await change(commands.WithdrawDelegate(invitation_id=erik_invitation.invitation_id))
    assert (await service.get(cid)).value.sequence == 1
    assert await apply(CalendarAnswer.TENTATIVE, 0) is None
    assert (await service.get(cid)).value.invitation(dora.invitation_id).response == (
        Response.TENTATIVE
    )

    # A week later: answers to the entries before (SEQUENCE 0 and 1) accepted another time.
    later = START + timedelta(days=7)
    await change(commands.Reschedule(starts_at=later, ends_at=later + timedelta(hours=2)))
    assert (await service.get(cid)).value.sequence == 2
    version = (await service.get(cid)).version
    assert await apply(CalendarAnswer.ACCEPTED, 0) == "outdated-time"
    assert await apply(CalendarAnswer.ACCEPTED, 1) == "outdated-time"
    assert (await service.get(cid)).version == version, "refused: nothing stored"
    assert await apply(CalendarAnswer.ACCEPTED, 2) is None
    assert (await service.get(cid)).value.invitation(dora.invitation_id).response == (
        Response.ACCEPTED
    )


async def test_without_reply_addresses_nothing_is_applied(
    mongo: Mongo, isolated: dict[str, str]
) -> None:
    service: ConferenceService = await service_on(
        mongo[isolated["RBN_MONGO_DATABASE"]], lambda: NOW
    )
    event = reply("a.b.c.d", "x", "dora@example.org", CalendarAnswer.ACCEPTED)
    assert await service.answer_by_calendar(event, Cause("test")) == "replies-off"
