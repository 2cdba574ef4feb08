"""The operator's CLI signs in as its machine client (client credentials) at the real Keycloak."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import typer

from rbn_ops import cli
from rbn_shared.oidc import OidcAuthenticator
from rbn_shared.settings import AuthSettings
from tests.support.keycloak import OPS_CLIENT, Keycloak, ops_secret


async def test_the_cli_fetches_a_district_token_for_the_operators_client(
    keycloak: Keycloak,
    auth_settings: Callable[..., AuthSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RBN_OPS_TOKEN", raising=False)
    monkeypatch.setenv("RBN_OIDC_ISSUER", keycloak.issuer)
    monkeypatch.setenv("RBN_OPS_CLIENT_ID", OPS_CLIENT)
    monkeypatch.setenv("RBN_OPS_CLIENT_SECRET", ops_secret())

    token = cli._operator_token()

    principal = await OidcAuthenticator(auth_settings()).authenticate(token)
    assert principal.role == "district"
    assert principal.subject  # the client's service account, for the audit trail


def test_a_wrong_client_secret_is_a_clear_refusal_not_a_token(
    keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RBN_OPS_TOKEN", raising=False)
    monkeypatch.setenv("RBN_OIDC_ISSUER", keycloak.issuer)
    monkeypatch.setenv("RBN_OPS_CLIENT_ID", OPS_CLIENT)
    monkeypatch.setenv("RBN_OPS_CLIENT_SECRET", "not-the-secret")

    with pytest.raises(typer.Exit) as exited:
        cli._operator_token()

    assert exited.value.exit_code == 1
    assert f"could not sign in at {keycloak.issuer} as {OPS_CLIENT}" in capsys.readouterr().out
