"""Calendar replies (iMIP, RFC 6047) as they arrive at the inbound listener: what they are, and
what the service makes of them.

A calendar answers an invitation by mail to its ORGANIZER, which the conferences service makes
`antwort+<token>@<reply domain>`; the token names the conference and the invitation and is
signed there. This service only checks its form (four dot-separated parts, the first two the
conference and the invitation); the conferences service verifies it when it applies the reply.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rbn_shared.calendar_addresses import conference_of_uid, token_in
from rbn_shared.events.notifications import CalendarAnswer

# A fixed namespace: the same Message-ID always gives the same inbound id (one effect per mail).
INBOUND_NAMESPACE = uuid.UUID("6f2c1f1e-5b9a-4d7e-9c39-3f7d2b0c8a41")

# RFC 5546 PARTSTAT of a REPLY → the conference's answer; any other (DELEGATED, NEEDS-ACTION)
# answers nothing the conference knows.
ANSWERS = {
    "ACCEPTED": CalendarAnswer.ACCEPTED,
    "DECLINED": CalendarAnswer.DECLINED,
    "TENTATIVE": CalendarAnswer.TENTATIVE,
}


class Method(StrEnum):
    REPLY = "REPLY"
    COUNTER = "COUNTER"  # a proposal of another time: answered, never applied


class Unusable(Exception):
    """A mail this service cannot use: refused with 550, changes nothing."""


@dataclass(frozen=True)
class ReplyToken:
    """A reply address's token, well-formed (not verified: conferences holds the secret)."""

    value: str
    conference_id: str
    invitation_id: str

    @classmethod
    def in_address(cls, address: str) -> ReplyToken | None:
        """The token of `antwort+<token>@…`; None if there is none or it is malformed."""
        value = token_in(address)
        if value is None:
            return None
        conference_id, invitation_id, _, _ = value.split(".")
        return cls(value, conference_id, invitation_id)


@dataclass(frozen=True)
class CalendarMessage:
    """The one VEVENT of an iMIP REPLY or COUNTER, as far as this service reads it."""

    method: Method
    uid: str
    attendee: str  # the ATTENDEE's address, canonical
    partstat: str | None
    sequence: int

    @property
    def conference_id(self) -> str | None:
        """The conference the entry's UID names (`conference-<id>@…`), if it names one."""
        return conference_of_uid(self.uid)

    def answer(self) -> CalendarAnswer:
        """The REPLY's answer; Unusable for a PARTSTAT that answers nothing."""
        answer = ANSWERS.get((self.partstat or "").upper())
        if answer is None:
            raise Unusable(f"PARTSTAT {self.partstat!r} is no answer")
        return answer


@dataclass(frozen=True)
class InboundMail:
    """A mail the listener received, parsed: its Message-ID and its calendar part."""

    message_id: str
    calendar: CalendarMessage
    received_at: datetime

    @property
    def inbound_id(self) -> str:
        """Stable per Message-ID: a second delivery of the same mail has the same id."""
        return str(uuid.uuid5(INBOUND_NAMESPACE, self.message_id.strip().lower()))
