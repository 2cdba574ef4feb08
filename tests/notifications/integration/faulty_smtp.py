"""An SMTP server for fault tests (aiosmtpd): it answers by the recipient and relays to Mailpit.

Mailpit's own chaos switch affects every SMTP client on the machine while it is set; this server
affects only the service under test. Recipients whose local part starts with
- `tempfail` are answered 451 at DATA the first time, and accepted after;
- `busy` are answered 452 at DATA every time;
- `reject` are refused with 550 at RCPT;
- anything else is accepted.
Accepted mail is relayed to Mailpit, so the tests read what arrived from Mailpit's API. `hold()`
makes the server stop answering DATA after some more acceptances (as if it hung); `release()`
lets held messages go with 451, never relayed: they were not accepted. With `smtputf8=True` its
EHLO offers SMTPUTF8 (aiosmtpd's default is not to), and such mail is relayed with SMTPUTF8.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.notifications.integration.support import free_port


class FaultyHandler:
    def __init__(self, relay_host: str, relay_port: int) -> None:
        self.relay_host = relay_host
        self.relay_port = relay_port
        self.tempfailed: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.held = 0
        self.relaying = 0  # accepted by us, being handed on to Mailpit
        self.connections: set[object] = set()  # client addresses seen at DATA
        self.hold_after: int | None = None
        self.released = threading.Event()  # set from the test's thread

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower().startswith("reject"):
            return "550 5.1.1 Mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        recipient = envelope.rcpt_tos[0].lower()
        self.connections.add(session.peer)
        if recipient.startswith("busy"):
            self.tempfailed[recipient] += 1
            return "452 4.2.2 Mailbox full, try again later"
        if recipient.startswith("tempfail") and not self.tempfailed[recipient]:
            self.tempfailed[recipient] += 1
            return "451 4.3.0 Try again later"
        if self.hold_after is not None and sum(self.accepted.values()) >= self.hold_after:
            self.held += 1
            await asyncio.to_thread(self.released.wait)
            return "451 4.3.0 Not accepted"
        content = envelope.content
        assert isinstance(content, bytes)
        utf8 = any(o.upper() == "SMTPUTF8" for o in envelope.mail_options)
        self.relaying += 1
        try:
            await aiosmtplib.send(
                content,
                sender=envelope.mail_from,
                recipients=envelope.rcpt_tos,
                hostname=self.relay_host,
                port=self.relay_port,
                mail_options=["SMTPUTF8"] if utf8 else None,
            )
            self.accepted[recipient] += 1
        finally:
            self.relaying -= 1
        return "250 2.0.0 Accepted"


class FaultySmtp:
    def __init__(self, relay_host: str, relay_port: int, *, smtputf8: bool = False) -> None:
        self.handler = FaultyHandler(relay_host, relay_port)
        self.port = free_port()
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8
        )

    def start(self) -> FaultySmtp:
        self._controller.start()
        return self

    def stop(self) -> None:
        self.handler.released.set()
        self._controller.stop()

    def hold(self, after_more: int) -> None:
        self.handler.released.clear()
        self.handler.held = 0
        self.handler.hold_after = sum(self.handler.accepted.values()) + after_more

    def release(self) -> None:
        self.handler.hold_after = None
        self.handler.released.set()
