"""Configuration of the conferences service, from CONFERENCES_* environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from rbn_shared.settings import Days, Port, Seconds, ServiceSettings, SettingProblem

DAY = 24 * 60 * 60

# Development defaults: RBN_ENVIRONMENT=production refuses to start with them (production_problems).
DEVELOPMENT_LINK_SECRET = "change-me-local-development-only"  # noqa: S105
DEVELOPMENT_PUBLIC_BASE_URL = "http://127.0.0.1:8002"


class ConferencesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONFERENCES_", extra="ignore", frozen=True)

    http_port: Port = 8002
    mongo_database: str = "conferences"

    auth_tokens: dict[str, str] = Field(
        default_factory=dict,
        description='JSON object: bearer token to role, e.g. {"<token>": "office:bochum"}.',
    )
    link_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_LINK_SECRET),
        description="Signs the personal response links; changing it invalidates every link.",
    )
    link_valid_days_after_end: int = Field(
        default=1,
        ge=0,
        description="How many days after its conference's end a response link works.",
    )
    public_base_url: str = Field(
        default=DEVELOPMENT_PUBLIC_BASE_URL,
        description="Where invitees reach this service; response links start with it.",
    )
    reply_domain: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$|^localhost$",
        description="The mail domain whose `antwort+*` addresses reach the notifications "
        "service's inbound listener. Set, an invitation's ORGANIZER is "
        "`antwort+<signed token>@<domain>` and calendar replies are applied; unset, the "
        "ORGANIZER is the education office's own address and calendar replies go there.",
    )
    reminder_offsets_seconds: list[int] = Field(
        default_factory=lambda: [7 * DAY, DAY],
        description="When reminders are due, in seconds before the start (JSON list).",
    )
    notifications_url: str = Field(
        default="http://127.0.0.1:8003",
        description="The notifications service's API; invitation previews are rendered there.",
    )
    reminder_poll_seconds: Seconds = 30.0
    personal_data_retention_days: Days = Field(
        default=730,
        description="How many days after a published conference ended (held, concluded or "
        "cancelled) its invitees' names and addresses are anonymised; answers and counts stay.",
    )
    retention_poll_seconds: Seconds = 3600.0
    clock_shift_seconds: float = Field(
        default=0.0,
        description="Added to the wall clock; for tests and drills only (moves 'now' forward).",
    )

    @field_validator("reply_domain", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # compose passes `${REPLY_DOMAIN:-}`: an empty value means "not set"
        return None if value == "" else value

    def production_problems(self) -> list[SettingProblem]:
        return [
            *super().production_problems(),
            # The response page is public: it must link the imprint and the privacy notice.
            *self.legal_problems(),
            *self.required(
                "public_base_url",
                "Set it to where invitees reach this service from outside, e.g. "
                "https://rbn.example/conferences: response links start with it.",
                development_default=DEVELOPMENT_PUBLIC_BASE_URL,
            ),
            *self.secret(
                "link_secret",
                DEVELOPMENT_LINK_SECRET,
                "It signs the personal response links; changing it invalidates every link sent.",
            ),
        ]
