"""Configuration of the notifications service, from `NOTIFICATIONS_*` environment variables."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Literal

from pydantic import AnyHttpUrl, EmailStr, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from notifications.domain.report_calendar import ReportCalendar, Weekday
from rbn_shared.settings import Days, Port, Seconds, ServiceSettings, SettingProblem

# Development defaults: RBN_ENVIRONMENT=production refuses to start with them (production_problems).
DEVELOPMENT_SIGNING_SECRET = "development-only-unsubscribe-secret"  # noqa: S105
DEVELOPMENT_PUBLIC_BASE_URL = "http://127.0.0.1:8003"
DEVELOPMENT_SMTP_HOST = "127.0.0.1"


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", frozen=True)

    http_port: Port = 8003
    mongo_database: str = "notifications"

    # SMTP
    smtp_host: str = DEVELOPMENT_SMTP_HOST
    smtp_port: Port = 1025
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS.")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: Seconds = 30.0
    mail_from: EmailStr = "bildungsnetzwerke@bezreg-arnsberg.nrw.de"
    mail_from_name: str = "Regionale Bildungsnetzwerke im Regierungsbezirk Arnsberg"

    # Sending: how many at once, and how transient failures are retried
    send_concurrency: int = Field(default=4, ge=1, le=64)
    send_max_attempts: int = Field(default=8, ge=1)
    retry_base_seconds: Seconds = 30.0
    retry_max_seconds: Seconds = 3600.0
    dispatch_poll_seconds: Seconds = 2.0
    outbox_sweep_seconds: Seconds = Field(
        300.0,
        description="How often the outbox relay looks through all deliveries for events that a "
        "crash left unpublished (a scan; also at start-up and after an outage).",
    )
    queue_repair_seconds: Seconds = Field(
        300.0,
        description="How often pending deliveries missing from the delivery queue are looked "
        "for (a scan of all deliveries; also once at start-up).",
    )
    claim_lease_seconds: Seconds = Field(
        300.0, description="After this long, an attempt whose sender vanished counts as in doubt."
    )
    in_doubt_policy: Literal["resend", "give_up"] = Field(
        default="resend",
        description="What to do with an attempt that may or may not have reached the SMTP server.",
    )

    # Inbound mail: calendar replies (iMIP) that the organisation's mail server forwards
    inbound_smtp_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the inbound SMTP listener for calendar replies; unset, no listener "
        "runs (and calendar replies cannot reach the service).",
    )
    inbound_smtp_host: str = Field(
        default="127.0.0.1",
        description="Where the inbound listener binds; 0.0.0.0 inside a container.",
    )
    inbound_max_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Largest inbound mail accepted (a calendar reply is a few kilobytes).",
    )

    # API and links
    auth_tokens: dict[str, str] = Field(default_factory=dict)
    unsubscribe_secret: SecretStr = SecretStr(DEVELOPMENT_SIGNING_SECRET)
    public_base_url: AnyHttpUrl = AnyHttpUrl(DEVELOPMENT_PUBLIC_BASE_URL)

    # District report
    report_weekday: Weekday = Field(
        default=Weekday.MONDAY, description="The weekday a period ends on (0 Monday … 6 Sunday)."
    )
    report_time: time = Field(
        default=time(7, 0), description="The time of day, Europe/Berlin, a period ends at."
    )
    report_interval: timedelta = Field(
        default=timedelta(days=7), gt=timedelta(0), description="How long a period is."
    )
    report_check_seconds: Seconds = 60.0

    # Retention (DSGVO Art. 5(1)(e)): counted from when a delivery settled
    message_retention_days: Days = Field(
        30, description="Days after which a settled delivery's rendered mail is deleted."
    )
    delivery_retention_days: Days = Field(
        365, description="Days after which a settled delivery's recipient is anonymised."
    )
    retention_check_seconds: Seconds = 3600.0

    # The education office's overview of the answers (instead of one mail per answer)
    digest_time: time = Field(
        default=time(7, 30),
        description="The time of day, Europe/Berlin, the overview's period ends at.",
    )
    digest_interval: timedelta = Field(
        default=timedelta(days=1), gt=timedelta(0), description="How long a period is."
    )
    digest_check_seconds: Seconds = 60.0

    @property
    def report_calendar(self) -> ReportCalendar:
        return ReportCalendar(self.report_weekday, self.report_time, self.report_interval)

    @property
    def digest_calendar(self) -> ReportCalendar:
        # Daily periods start on every weekday; longer ones (say P7D) end on Mondays.
        return ReportCalendar(Weekday.MONDAY, self.digest_time, self.digest_interval)

    @property
    def base_url(self) -> str:
        return str(self.public_base_url).rstrip("/")

    def production_problems(self) -> list[SettingProblem]:
        # The SMTP host only has to be chosen: a relay on the same machine (127.0.0.1) is a
        # production set-up too, but inside a container the default reaches nothing.
        return [
            *super().production_problems(),
            *self.legal_problems(),  # the unsubscribe pages and every mail link them
            *self.required(
                "smtp_host",
                "Set it to the SMTP server (relay) the mails go out through.",
            ),
            *self.required(
                "mail_from",
                "Set it to the address the mails come from (envelope sender and From).",
            ),
            *self.required(
                "public_base_url",
                "Set it to where recipients reach this service from outside, e.g. "
                "https://rbn.example/notifications: unsubscribe links start with it.",
                development_default=DEVELOPMENT_PUBLIC_BASE_URL,
            ),
            *self.secret(
                "unsubscribe_secret",
                DEVELOPMENT_SIGNING_SECRET,
                "It signs the unsubscribe links; changing it invalidates the links sent.",
            ),
        ]
