"""The MIME message: text and HTML alternatives, the iMIP calendar part, safe headers.

Every header value passes through `single_line` and `email.headerregistry.Address`, so a name
with a line break cannot add a header. Text parts are quoted-printable: the stored message is
plain ASCII and goes to the SMTP server byte for byte as stored, on every attempt.
"""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from notifications.domain.recipients import Recipient, single_line
from notifications.domain.rules import CalendarMethod
from notifications.rendering.mails import RenderedMail

MESSAGE_ID_DOMAIN = "rbn-arnsberg.nrw.de"
# Long headers (List-Unsubscribe with its token) must stay one plain value, not encoded words.
HEADER_POLICY = SMTP.clone(max_line_length=998)
CALENDAR_FILE = {CalendarMethod.REQUEST: "einladung.ics", CalendarMethod.CANCEL: "absage.ics"}


def message_id_for(delivery_id: str) -> str:
    """Stable per delivery: a resent attempt carries the same Message-ID as the first."""
    return f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"


def _address(email: str, name: str | None) -> Address:
    username, _, domain = email.partition("@")
    return Address(display_name=single_line(name or ""), username=username, domain=domain)


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
    message = EmailMessage(policy=HEADER_POLICY)
    message["Subject"] = single_line(mail.subject)
    message["From"] = _address(sender_email, sender_name)
    message["To"] = _address(recipient.email, recipient.name)
    if reply_to:
        message["Reply-To"] = _address(reply_to, None)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Content-Language"] = "de"
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    message.set_content(mail.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(mail.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if mail.calendar is not None and mail.calendar_method is not None:
        ics = mail.calendar.decode()
        # The calendar as an alternative lets mail clients show accept/decline buttons (iMIP);
        # the same file as an attachment serves clients that only offer to open attachments.
        message.add_alternative(
            ics,
            subtype="calendar",
            charset="utf-8",
            cte="quoted-printable",
            params={"method": mail.calendar_method.value},
        )
        message.make_mixed()
        message.add_attachment(
            mail.calendar,
            maintype="application",
            subtype="ics",
            filename=CALENDAR_FILE[mail.calendar_method],
        )
    return message.as_string()
