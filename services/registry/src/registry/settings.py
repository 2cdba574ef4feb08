"""The registry's settings, from REGISTRY_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from rbn_shared.settings import Days, Port, Seconds, ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore", frozen=True)

    http_port: Port = 8001
    mongo_database: str = "registry"
    auth_tokens: dict[str, str] = Field(default_factory=dict)
    """Bearer token -> role (district, reader, office:<network id>), as a JSON object."""
    removed_people_retention_days: Days = 730
    """Seats removed and office posts ended this many days ago are anonymised, unless their
    person still works with the network."""
    retention_check_seconds: Seconds = 86_400.0
    """How often that is looked for (daily)."""
