"""Which authenticator a service gets, and how claims become roles (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from rbn_shared.auth import (
    AuthConfigurationError,
    Principal,
    TableThenOidc,
    TokenTable,
    authenticator_from,
)
from rbn_shared.http import Problem
from rbn_shared.oidc import ClaimMapping, OidcAuthenticator
from rbn_shared.settings import AuthSettings, ServiceSettings

ISSUER = "https://login.example/realms/rbn"


@pytest.fixture(autouse=True)
def no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RBN_ENVIRONMENT", "RBN_OIDC_ISSUER", "RBN_OIDC_ROLES_CLAIM"):
        monkeypatch.delenv(name, raising=False)


def test_production_refuses_a_token_table() -> None:
    settings = AuthSettings(environment="production", oidc_issuer=ISSUER)
    with pytest.raises(AuthConfigurationError, match="RBN_ENVIRONMENT=production refuses static"):
        authenticator_from(settings, tokens={"secret": "district"})


def test_production_needs_an_issuer() -> None:
    with pytest.raises(AuthConfigurationError, match="needs RBN_OIDC_ISSUER"):
        authenticator_from(AuthSettings(environment="production"))


def test_production_is_the_default() -> None:
    assert AuthSettings().environment == "production"
    with pytest.raises(AuthConfigurationError):
        authenticator_from(AuthSettings(), tokens={"secret": "district"})


def test_production_with_an_issuer_takes_access_tokens_only() -> None:
    authenticator = authenticator_from(AuthSettings(oidc_issuer=ISSUER), tokens={})
    assert isinstance(authenticator, OidcAuthenticator)


def test_development_takes_the_table_and_then_access_tokens() -> None:
    table_only = authenticator_from(
        AuthSettings(environment="development"), tokens={"secret": "reader"}
    )
    assert isinstance(table_only, TokenTable)
    both = authenticator_from(
        AuthSettings(environment="development", oidc_issuer=ISSUER), tokens={"secret": "reader"}
    )
    assert isinstance(both, TableThenOidc)
    assert isinstance(both.oidc, OidcAuthenticator)


def test_every_service_reads_the_shared_rbn_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    class SomeServiceSettings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="SOME_", extra="ignore", frozen=True)

    monkeypatch.setenv("RBN_ENVIRONMENT", "development")
    monkeypatch.setenv("RBN_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("RBN_OIDC_ROLES_CLAIM", "roles")
    settings = SomeServiceSettings()
    assert settings.auth.environment == "development"
    assert settings.auth.oidc_roles_claim == "roles"
    assert isinstance(authenticator_from(settings), OidcAuthenticator)


@pytest.mark.parametrize("algorithms", [("HS256",), ("RS256", "none"), ()])
def test_only_asymmetric_algorithms_can_be_configured(algorithms: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError, match="only asymmetric"):
        AuthSettings(oidc_algorithms=algorithms)


def test_the_office_pattern_needs_its_placeholder() -> None:
    with pytest.raises(ValidationError, match="network"):
        AuthSettings(oidc_office_pattern="office-")


def claims(values: Any, claim: str = "groups") -> dict[str, Any]:
    return {"sub": "s-1", claim: values}


def principal(
    values: Any, settings: AuthSettings | None = None, claim: str = "groups"
) -> Principal:
    return ClaimMapping(settings or AuthSettings()).principal(claims(values, claim))


def test_keycloak_groups_map_to_roles() -> None:
    assert principal(["district"]) == Principal("district", subject="s-1")
    assert principal(["office-kreis-soest"]) == Principal("office", "kreis-soest", subject="s-1")
    assert principal(["readers", "offline_access"]) == Principal("reader", subject="s-1")
    assert principal(["office-bochum", "district"]).role == "district"  # the wider role wins
    assert principal(["readers", "office-hagen"]) == Principal("office", "hagen", subject="s-1")
    assert principal("readers").role == "reader"  # a single string is one value


@pytest.mark.parametrize(
    "values",
    [[], None, ["/district"], ["office-"], ["office-Bochum"], ["xoffice-bochum"], [42], "x"],
)
def test_values_that_name_no_role_are_forbidden(values: Any) -> None:
    with pytest.raises(Problem) as refused:
        principal(values)
    assert (refused.value.status, refused.value.kind) == (403, "forbidden")


def test_several_offices_are_forbidden() -> None:
    with pytest.raises(Problem, match="several offices"):
        principal(["office-bochum", "office-dortmund"])


def test_an_app_roles_claim_as_entra_id_issues_it() -> None:
    entra = AuthSettings(
        oidc_roles_claim="roles",
        oidc_district_value="RBN.District",
        oidc_office_pattern="RBN.Office.{network}",
        oidc_reader_value="RBN.Reader",
    )
    assert principal(["RBN.Office.hamm"], entra, "roles") == Principal(
        "office", "hamm", subject="s-1"
    )
    assert principal(["RBN.District"], entra, "roles").role == "district"
    with pytest.raises(Problem):
        principal(["office-hamm"], entra, "roles")


def test_a_nested_claim_is_reached_by_a_dotted_path() -> None:
    nested = AuthSettings(oidc_roles_claim="realm_access.roles")
    mapping = ClaimMapping(nested)
    assert (
        mapping.principal({"sub": "s", "realm_access": {"roles": ["district"]}}).role == "district"
    )
    with pytest.raises(Problem):
        mapping.principal({"sub": "s", "realm_access": ["district"]})
