"""The MIME message: text and HTML alternatives, the iMIP calendar part, safe headers.

Every header value passes through `single_line` (names and the subject) or is checked to be one
line of plain characters (addresses, ids, links), so a name with a line break cannot add a
header. Text parts are quoted-printable: the stored message is plain ASCII and goes to the SMTP
server byte for byte as stored, on every attempt.

Addresses go into headers in the form SMTP takes (`rbn_shared.addresses.sendable`): the domain
as IDNA ("xn--"), so that any server delivers it. Only a recipient whose local part is not ASCII
gets a To header in UTF-8 (RFC 6532); such a mail can be sent only with SMTPUTF8.

Built with the `email` package's classic MIME classes rather than `EmailMessage`: the modern API
parses every header it is given into objects, which made composing a mail cost about 2.5 ms, more
than rendering it (docs/benchmarks/README.md); the classic classes produce the same structure for
less than half of that.
"""

from __future__ import annotations

import io
from datetime import datetime
from email.charset import QP, Charset
from email.generator import Generator
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, quote

from notifications.domain.recipients import Recipient, single_line
from notifications.domain.rules import CalendarMethod
from notifications.rendering.mails import RenderedMail
from rbn_shared.addresses import AddressRefused, sendable

MESSAGE_ID_DOMAIN = "rbn-arnsberg.nrw.de"
CALENDAR_FILE = {CalendarMethod.REQUEST: "einladung.ics", CalendarMethod.CANCEL: "absage.ics"}
# UTF-8 bodies as quoted-printable (readable, 7-bit); headers as the shorter encoded form.
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP
# CRLF as SMTP wants it; headers folded at 78 characters, except List-Unsubscribe (see _OneLine).
SMTP_LINES = compat32.clone(linesep="\r\n", max_line_length=78)


def message_id_for(delivery_id: str) -> str:
    """Stable per delivery: a resent attempt carries the same Message-ID as the first."""
    return f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"


def _plain(value: str) -> str:
    """A header value that is not text for people (an address, an id, a link): one line of
    printable ASCII without spaces, or refused."""
    if not value or not value.isascii() or any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"not a single plain header value: {value!r}")
    return value


class _OneLine:
    """A header value the generator must not fold (a long link without spaces): it asks the value
    to encode itself, and this one stays as it is."""

    def __init__(self, value: str) -> None:
        self._value = value

    def encode(self, linesep: str = "\r\n", maxlinelen: int | None = None) -> str:
        return self._value

    def __str__(self) -> str:
        return self._value


def _address(email: str, name: str | None) -> str | _OneLine:
    """The address header in the form SMTP takes; AddressRefused if the policy refuses it."""
    form = sendable(email)
    if not form.needs_smtputf8:
        return formataddr((single_line(name or ""), _plain(form.address)), charset="utf-8")
    if any(c.isspace() or not c.isprintable() for c in form.address):
        raise ValueError(f"not a single plain header value: {form.address!r}")
    # RFC 6532: the header is UTF-8 as it is; an encoded word must not stand for an address.
    shown = single_line(name or "")
    return _OneLine(f'"{quote(shown)}" <{form.address}>' if shown else form.address)


def _reply_to(email: str) -> str | None:
    """The Reply-To header, or None if the address cannot go into any mail's header (an
    organiser's bad address must not fail the mails of all invitees)."""
    try:
        form = sendable(email)
    except AddressRefused:
        return None
    return None if form.needs_smtputf8 else formataddr(("", form.address))


def _text(body: str, subtype: str) -> MIMEText:
    # typeshed allows only a charset's name here; a Charset is what chooses quoted-printable.
    part = MIMEText(body, subtype, UTF8_QP)  # type: ignore[arg-type]
    del part["MIME-Version"]  # once, at the top
    return part


def compose(
    mail: RenderedMail,
    *,
    recipient: Recipient,
    sender_email: str,
    sender_name: str,
    reply_to: str | None,
    message_id: str,
    date: datetime,
) -> str:
    alternatives = MIMEMultipart("alternative")
    alternatives.attach(_text(mail.text, "plain"))
    alternatives.attach(_text(mail.html, "html"))
    message: Message = alternatives
    if mail.calendar is not None:
        # The calendar as an alternative lets mail clients show accept/decline buttons (iMIP);
        # the same file as an attachment serves clients that only offer to open attachments.
        calendar = _text(mail.calendar.ics.decode(), "calendar")
        calendar.set_param("method", mail.calendar.method.value)
        alternatives.attach(calendar)
        del alternatives["MIME-Version"]
        message = MIMEMultipart("mixed")
        message.attach(alternatives)
        attachment = MIMEApplication(mail.calendar.ics, "ics")
        del attachment["MIME-Version"]
        attachment.add_header(
            "Content-Disposition", "attachment", filename=CALENDAR_FILE[mail.calendar.method]
        )
        message.attach(attachment)

    # Header objects (here and _OneLine below) are what the classic API takes for encoded and
    # unfolded values; typeshed knows only strings.
    message["Subject"] = Header(single_line(mail.subject), UTF8_QP)  # type: ignore[assignment]
    message["From"] = _address(sender_email, sender_name)  # type: ignore[assignment]
    message["To"] = _address(recipient.email, recipient.name)  # type: ignore[assignment]
    reply_header = _reply_to(reply_to) if reply_to else None
    if reply_header:
        message["Reply-To"] = reply_header
    message["Date"] = format_datetime(date)
    message["Message-ID"] = _plain(message_id)
    message["Content-Language"] = "de"
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        message["List-Unsubscribe"] = _OneLine(f"<{_plain(mail.unsubscribe_url)}>")  # type: ignore[assignment]
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    out = io.StringIO()
    Generator(out, policy=SMTP_LINES).flatten(message)
    return out.getvalue()
