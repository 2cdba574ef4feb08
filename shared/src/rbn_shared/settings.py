"""Settings from the environment, one prefix per service (REGISTRY_, CONFERENCES_, NOTIFICATIONS_).

Secrets are `SecretStr`: they are read from the environment only and never printed or logged.
Sign-in (`AuthSettings`) is the same for every service and read with the shared prefix RBN_
(docs/sign-in.md).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rbn_shared.events.topics import Topics

ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
"""The only JWS algorithms an access token may be signed with; `none` and HMAC (HS*) never."""

NETWORK_PLACEHOLDER = "{network}"


class AuthSettings(BaseSettings):
    """Who may call the APIs: OpenID Connect access tokens, and in development a token table.

    Read from RBN_* variables by every service alike (RBN_ENVIRONMENT, RBN_OIDC_ISSUER, ...).
    """

    model_config = SettingsConfigDict(env_prefix="RBN_", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = Field(
        default="production",
        description="production refuses static bearer tokens and requires an OIDC issuer; "
        "./dev up and the tests set development.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="The provider's issuer URL, exactly as in the tokens' iss claim, e.g. "
        "http://127.0.0.1:8080/realms/rbn. Unset: no access tokens are accepted.",
    )
    oidc_audience: str = Field(
        default="rbn-api", description="What the tokens' aud claim must contain."
    )
    oidc_jwks_url: AnyHttpUrl | None = Field(
        default=None,
        description="Where to fetch the signing keys, when not from the issuer's "
        "/.well-known/openid-configuration (e.g. the provider's address inside a network).",
    )
    oidc_roles_claim: str = Field(
        default="groups",
        description="The claim holding group or role names; a dotted path reaches into objects "
        "(realm_access.roles).",
    )
    oidc_district_value: str = Field(
        default="district", description="The claim value that makes a caller district staff."
    )
    oidc_office_pattern: str = Field(
        default="office-{network}",
        description="Claim values of an office: {network} stands for the network id.",
    )
    oidc_reader_value: str = Field(
        default="readers", description="The claim value that makes a caller a reader."
    )
    oidc_algorithms: tuple[str, ...] = Field(
        default=ASYMMETRIC_ALGORITHMS,
        description="Accepted signature algorithms, a subset of the asymmetric ones.",
    )
    oidc_leeway_seconds: float = Field(
        default=10.0, ge=0, le=300, description="Clock skew allowed for exp, nbf and iat."
    )
    oidc_jwks_cache_seconds: float = Field(
        default=300.0, gt=0, description="How long fetched signing keys are used unrefreshed."
    )
    oidc_jwks_refresh_cooldown_seconds: float = Field(
        default=5.0,
        ge=0,
        description="At least this long between two fetches of the keys: a token with an "
        "unknown key id triggers one only after it.",
    )
    oidc_http_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Timeout of each request to the provider."
    )

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_is_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("the issuer must be an http(s) URL")
        return value

    @field_validator("oidc_algorithms")
    @classmethod
    def _only_asymmetric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if refused or not value:
            raise ValueError(
                f"only asymmetric algorithms are accepted ({', '.join(ASYMMETRIC_ALGORITHMS)}), "
                f"not {refused or 'none at all'}"
            )
        return value

    @field_validator("oidc_office_pattern")
    @classmethod
    def _one_placeholder(cls, value: str) -> str:
        if value.count(NETWORK_PLACEHOLDER) != 1:
            raise ValueError(f"the office pattern needs {NETWORK_PLACEHOLDER} exactly once")
        return value


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
    auth: AuthSettings = Field(
        default_factory=AuthSettings,
        description="Sign-in, from the shared RBN_* variables (not the service's prefix).",
    )

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)
