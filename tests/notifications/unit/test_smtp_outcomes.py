"""SMTP answers sorted into "try again later" and "refused for good"."""

from __future__ import annotations

import aiosmtplib
import pytest

from notifications.adapters.smtp import classify


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (aiosmtplib.SMTPDataError(451, "Try again later"), False),
        (aiosmtplib.SMTPDataError(552, "Message too large"), True),
        (aiosmtplib.SMTPResponseException(421, "Service not available"), False),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(550, "No such user", "a@b.de")]
            ),
            True,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(450, "Mailbox busy", "a@b.de")]
            ),
            False,
        ),
        (aiosmtplib.SMTPConnectError("connection refused"), False),
        (aiosmtplib.SMTPServerDisconnected("gone"), False),
        (ConnectionResetError("reset"), False),
        (TimeoutError(), False),
    ],
)
def test_classification(error: Exception, permanent: bool) -> None:
    failure = classify(error)
    assert failure.permanent is permanent
    assert failure.reason


def test_programming_errors_are_not_swallowed() -> None:
    with pytest.raises(KeyError):
        classify(KeyError("bug"))
