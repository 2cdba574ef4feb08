"""Configuration of the conferences service, from CONFERENCES_* environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from rbn_shared.settings import ServiceSettings

DAY = 24 * 60 * 60


class ConferencesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONFERENCES_", extra="ignore", frozen=True)

    http_port: int = Field(default=8002, ge=1, le=65535)
    mongo_database: str = "conferences"

    auth_tokens: dict[str, str] = Field(
        default_factory=dict,
        description='JSON object: bearer token to role, e.g. {"<token>": "office:bochum"}.',
    )
    link_secret: SecretStr = Field(
        default=SecretStr("change-me-local-development-only"),
        description="Signs the personal response links; changing it invalidates every link.",
    )
    link_valid_days: int = Field(default=400, ge=1, description="How long a response link works.")
    public_base_url: str = Field(
        default="http://127.0.0.1:8002",
        description="Where invitees reach this service; response links start with it.",
    )
    reminder_offsets_seconds: list[int] = Field(
        default_factory=lambda: [7 * DAY, DAY],
        description="When reminders are due, in seconds before the start (JSON list).",
    )
    reminder_poll_seconds: float = Field(default=30.0, gt=0)
    clock_shift_seconds: float = Field(
        default=0.0,
        description="Added to the wall clock; for tests and drills only (moves 'now' forward).",
    )
