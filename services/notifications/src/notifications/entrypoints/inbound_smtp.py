"""The inbound SMTP listener (aiosmtpd) for calendar replies, in the service's own event loop.

It takes mail for reply addresses only (`antwort+<token>@…`, the token well-formed) and answers
each mail once its effect is stored:

- 250 once the reply's event or the counter answer is durable (also for the same mail again);
- 550 at RCPT for any other address (no open relay: nothing is ever forwarded), and at DATA for
  a mail that is no calendar REPLY or COUNTER, or a COUNTER that cannot be tied;
- 552 beyond the size limit (aiosmtpd refuses it before it is read in full);
- 451 when storing failed (the database away): the sending server tries again later.

Refusals are counted (`rbn_calendar_replies_refused_total{service="notifications",reason}`) and
logged with no address in them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from notifications.domain.calendar_replies import ReplyToken, Unusable
from notifications.service_layer.inbound import InboundReplies, NotTied
from rbn_shared.calendar_addresses import REPLY_LOCAL_PART, is_reply_address
from rbn_shared.logging import get_logger
from rbn_shared.metrics import CALENDAR_REPLIES_REFUSED

log = get_logger(__name__)

SERVICE = "notifications"
MAX_RECIPIENTS = 10
IDLE_SECONDS = 60  # a client that says nothing this long is dropped


def refused(reason: str) -> None:
    CALENDAR_REPLIES_REFUSED.labels(SERVICE, reason).inc()


class InboundHandler:
    """aiosmtpd's handler: the hooks it calls for RCPT TO and DATA."""

    def __init__(self, replies: InboundReplies) -> None:
        self._replies = replies

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        if ReplyToken.in_address(address) is not None:
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"
        if is_reply_address(address):
            plain = address.rpartition("@")[0].lower() == REPLY_LOCAL_PART
            reason = "no-token" if plain else "malformed-token"
            refused(reason)
            log.warning("inbound mail refused at RCPT", reason=reason)
            return "550 5.1.1 This reply address names no invitation"
        return "550 5.1.1 No such mailbox here (calendar replies only)"

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        tokens = [t for t in map(ReplyToken.in_address, envelope.rcpt_tos) if t is not None]
        raw = envelope.original_content or envelope.content
        if not tokens or not isinstance(raw, bytes):
            return "554 5.5.1 No valid recipients"
        try:
            outcome = await self._replies.receive(raw, tokens)
        except Unusable as problem:
            refused("unusable")
            log.warning("inbound mail refused: no usable calendar reply", problem=str(problem))
            return "550 5.6.0 Not a usable calendar reply (iMIP REPLY or COUNTER)"
        except NotTied as problem:
            refused(problem.reason)
            log.warning("calendar counter proposal refused", reason=problem.reason)
            return "550 5.7.1 This proposal is not tied to an invitation"
        except Exception:
            log.exception("inbound mail not stored; the sender will try again")
            return "451 4.3.0 Temporarily unable to store the message, try again later"
        return f"250 2.0.0 OK: {outcome.value}"


async def serve_inbound(
    replies: InboundReplies, *, host: str, port: int, max_bytes: int, hostname: str
) -> None:
    """Listen until cancelled (a background job of the service's runtime)."""
    handler = InboundHandler(replies)

    def protocol() -> Any:
        return SMTP(
            handler,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=hostname,
            ident="RBN notifications inbound",
            timeout=IDLE_SECONDS,
        )

    server = await asyncio.get_running_loop().create_server(protocol, host=host, port=port)
    log.info("inbound SMTP listener started", host=host, port=port)
    try:
        await asyncio.Future()  # until the runtime cancels the job
    finally:
        server.close()
        await server.wait_closed()
        log.info("inbound SMTP listener stopped")
