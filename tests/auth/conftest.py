"""Sign-in tests: the real Keycloak (tests/support/keycloak.py) and validators made per test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rbn_shared.settings import AuthSettings
from tests.support.keycloak import Keycloak, keycloak

__all__ = ["keycloak"]  # the session fixture, for the tests in this folder


@pytest.fixture
def auth_settings(keycloak: Keycloak) -> Callable[..., AuthSettings]:
    """`auth_settings(oidc_leeway_seconds=0)`: development settings against the local realm."""

    def make(**overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {
            "environment": "development",
            "oidc_issuer": keycloak.issuer,
            "oidc_audience": "rbn-api",
            "oidc_jwks_refresh_cooldown_seconds": 0.0,
        }
        values.update(overrides)
        return AuthSettings(**values)

    return make
