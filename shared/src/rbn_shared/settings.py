"""Settings from the environment, one prefix per service (REGISTRY_, CONFERENCES_, NOTIFICATIONS_).

Secrets are `SecretStr`: they are read from the environment only and never printed or logged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from rbn_shared.events.topics import Topics


class ServiceSettings(BaseSettings):
    """What every service needs: Kafka, MongoDB, HTTP and logging."""

    model_config = SettingsConfigDict(env_prefix="RBN_", extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = Field(default="rbn.", description="Prefix of every topic name.")
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)

    mongo_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    mongo_database: str = "rbn"

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_sweep_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How often the relay scans every store for events a crash or another "
        "instance left unpublished (also at start-up and after an outage).",
    )
    consumer_max_attempts: int = Field(default=5, ge=1)
    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Request bodies above this size are refused with 413 before they are read.",
    )

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)
