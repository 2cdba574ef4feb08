"""The portal's settings, from PORTAL_* variables (sign-in from the shared RBN_OIDC_*)."""

from __future__ import annotations

from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from rbn_shared.settings import Port, Seconds, ServiceSettings, SettingProblem

DEVELOPMENT_SESSION_SECRET = "development-only-portal-session-secret"  # noqa: S105
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:8004"


class PortalSettings(ServiceSettings):
    """The portal keeps no data of its own: it needs the three APIs, the sign-in provider and a
    secret for its session cookie. (Kafka and MongoDB settings it inherits and does not use.)"""

    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore", frozen=True)

    http_port: Port = 8004
    public_url: AnyHttpUrl = Field(
        default=AnyHttpUrl(DEVELOPMENT_PUBLIC_URL),
        description="Where staff open the portal; the sign-in provider sends them back there.",
    )
    registry_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8001")
    conferences_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8002")
    notifications_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8003")
    oidc_client_id: str = Field(
        default="rbn-portal",
        description="The portal's public client at the provider (authorization code with PKCE).",
    )
    oidc_scope: str = "openid profile email"
    oidc_discovery_url: AnyHttpUrl | None = Field(
        default=None,
        description="Where the portal reads the provider's configuration, when not at the "
        "issuer's /.well-known/openid-configuration (e.g. Keycloak's address inside the compose "
        "network; Keycloak then names its back-channel endpoints there too).",
    )
    session_secret: SecretStr = SecretStr(DEVELOPMENT_SESSION_SECRET)
    session_hours: float = Field(
        default=8.0, gt=0, le=24, description="A sign-in lasts at most this long."
    )
    api_timeout_seconds: Seconds = 10.0

    @property
    def discovery_url(self) -> str:
        if self.oidc_discovery_url is not None:
            return str(self.oidc_discovery_url)
        issuer = str(self.auth.oidc_issuer or "").rstrip("/")
        return f"{issuer}/.well-known/openid-configuration"

    @property
    def development(self) -> bool:
        return self.auth.environment == "development"

    def url(self, path: str) -> str:
        return str(self.public_url).rstrip("/") + path

    def production_problems(self) -> list[SettingProblem]:
        return [
            *super().production_problems(),
            *self.legal_problems(),
            *self.required(
                "public_url",
                "Set it to the portal's address as staff open it, e.g. "
                "https://portal.bildungsnetzwerke.example (the provider must allow "
                "<public url>/anmelden/rueckkehr as a redirect URI).",
                development_default=DEVELOPMENT_PUBLIC_URL,
            ),
            *self.secret(
                "session_secret",
                DEVELOPMENT_SESSION_SECRET,
                "The portal signs its session cookie with it.",
            ),
        ]
