"""Sending through SMTP with aiosmtplib: pooled connections, STARTTLS and login from settings.

Each send takes a connection from the pool (opening one if none is idle), sends one message to
one recipient, and returns the connection for the next send. An error closes that connection.
The outcome is classified: 4xx answers and connection problems are transient (retry later),
5xx answers are permanent (the server refuses this mail for good).

A mail to an address with a non-ASCII local part goes with the SMTPUTF8 option (RFC 6531), and
only if the server's EHLO offers it; otherwise that one delivery fails for good with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import aiosmtplib

from rbn_shared.logging import get_logger

log = get_logger(__name__)


class SendFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    timeout: float
    pool_size: int


def classify(error: Exception) -> SendFailed:
    """Turn whatever aiosmtplib raised into a transient or permanent failure."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in error.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
        return SendFailed(f"recipient refused: {text}", permanent=permanent, code=max(codes or [0]))
    if isinstance(error, aiosmtplib.SMTPResponseException):
        permanent = 500 <= error.code < 600
        return SendFailed(f"{error.code} {error.message}", permanent=permanent, code=error.code)
    if isinstance(
        error, aiosmtplib.SMTPException | OSError | asyncio.TimeoutError | ConnectionError
    ):
        return SendFailed(f"{type(error).__name__}: {error}", permanent=False)
    raise error


class SmtpSender:
    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(config.pool_size)

    async def send(
        self, sender: str, recipient: str, message: str, *, smtputf8: bool = False
    ) -> str:
        """Send; returns the server's answer, or raises SendFailed.

        `smtputf8`: the recipient's address (and so the To header) is UTF-8 (RFC 6531/6532).
        """
        refusal: SendFailed | None = None
        async with self._slots:
            client = await self._connection()
            try:
                if smtputf8 and not await self._offers_smtputf8(client):
                    refusal = SendFailed(
                        f"the mail server does not support SMTPUTF8, which the address "
                        f"{recipient} needs (its local part is not ASCII)",
                        permanent=True,
                    )
                else:
                    options = ["SMTPUTF8"] if smtputf8 else []
                    _refused, answer = await client.sendmail(
                        sender, [recipient], message.encode(), mail_options=options
                    )
            except Exception as error:
                await self._discard(client)
                raise classify(error) from error
            self._idle.append(client)  # also after a refusal: the connection is fine
            if refusal is not None:
                raise refusal
            return answer

    @staticmethod
    async def _offers_smtputf8(client: aiosmtplib.SMTP) -> bool:
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        return client.supports_extension("smtputf8")

    async def _connection(self) -> aiosmtplib.SMTP:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            timeout=config.timeout,
            start_tls=config.starttls,
            use_tls=False,
        )
        try:
            await client.connect()
            if config.username and config.password is not None:
                await client.login(config.username, config.password)
        except Exception as error:
            await self._discard(client)
            raise classify(error) from error
        return client

    @staticmethod
    async def _discard(client: aiosmtplib.SMTP) -> None:
        with contextlib.suppress(Exception):
            client.close()

    async def close(self) -> None:
        while self._idle:
            client = self._idle.pop()
            with contextlib.suppress(Exception):
                await client.quit()
