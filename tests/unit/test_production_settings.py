"""RBN_ENVIRONMENT=production: a service refuses to start while a setting production needs is
missing or still a development default, naming the variable; development starts with defaults.

Each required setting in turn: an environment complete but for that one is refused with exactly
that variable. And the services as processes: exit code 2, the variable on stderr, no traceback,
before any connection (no server runs for these tests).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Mapping

import pytest

from conferences.settings import (
    DEVELOPMENT_LINK_SECRET,
    ConferencesSettings,
)
from conferences.settings import (
    DEVELOPMENT_PUBLIC_BASE_URL as CONFERENCES_DEVELOPMENT_URL,
)
from notifications.settings import (
    DEVELOPMENT_PUBLIC_BASE_URL as NOTIFICATIONS_DEVELOPMENT_URL,
)
from notifications.settings import (
    DEVELOPMENT_SIGNING_SECRET,
    NotificationsSettings,
)
from rbn_shared.settings import (
    MAKE_A_SECRET,
    REFUSED_TO_START,
    SECRET_MIN_LENGTH,
    ProductionSettingsError,
    ServiceSettings,
)
from registry.settings import RegistrySettings
from tests.support.infra import REPO

PREFIXES = ("RBN_", "REGISTRY_", "CONFERENCES_", "NOTIFICATIONS_")
SIGN_IN = {
    "RBN_ENVIRONMENT": "production",
    "RBN_OIDC_ISSUER": "https://login.example/realms/rbn",
    "RBN_OIDC_AUDIENCE": "rbn-api",
}
# A service with public pages links the operator's legal notices (settings.legal_problems).
LEGAL = {
    "RBN_IMPRINT_URL": "https://rbn.example/impressum",
    "RBN_PRIVACY_NOTICE_URL": "https://rbn.example/datenschutz",
}
LINK_SECRET = secrets.token_urlsafe(48)
UNSUBSCRIBE_SECRET = secrets.token_urlsafe(48)
COMPLETE: dict[type[ServiceSettings], dict[str, str]] = {
    RegistrySettings: SIGN_IN,
    ConferencesSettings: {
        **SIGN_IN,
        **LEGAL,
        "CONFERENCES_PUBLIC_BASE_URL": "https://rbn.example/conferences",
        "CONFERENCES_LINK_SECRET": LINK_SECRET,
    },
    NotificationsSettings: {
        **SIGN_IN,
        **LEGAL,
        "NOTIFICATIONS_SMTP_HOST": "smtp.example.org",
        "NOTIFICATIONS_MAIL_FROM": "rbn@example.org",
        "NOTIFICATIONS_PUBLIC_BASE_URL": "https://rbn.example/notifications",
        "NOTIFICATIONS_UNSUBSCRIBE_SECRET": UNSUBSCRIBE_SECRET,
    },
}
REQUIRED = [
    (cls, variable)
    for cls, env in COMPLETE.items()
    for variable in env
    if variable != "RBN_ENVIRONMENT"
]
SECRETS = [
    (ConferencesSettings, "CONFERENCES_LINK_SECRET", DEVELOPMENT_LINK_SECRET),
    (NotificationsSettings, "NOTIFICATIONS_UNSUBSCRIBE_SECRET", DEVELOPMENT_SIGNING_SECRET),
]
PUBLIC_URLS = [
    (ConferencesSettings, "CONFERENCES_PUBLIC_BASE_URL", CONFERENCES_DEVELOPMENT_URL),
    (NotificationsSettings, "NOTIFICATIONS_PUBLIC_BASE_URL", NOTIFICATIONS_DEVELOPMENT_URL),
]


def outside_settings_removed() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No RBN_ or service variable from outside (the tests' conftest sets development)."""
    for name in os.environ:
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch


def load(
    monkeypatch: pytest.MonkeyPatch, cls: type[ServiceSettings], env: Mapping[str, str]
) -> ServiceSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cls()


def refused(settings: ServiceSettings) -> ProductionSettingsError:
    with pytest.raises(ProductionSettingsError) as caught:
        settings.check_environment()
    return caught.value


def test_every_required_setting_is_tested() -> None:
    assert sorted(v for _, v in REQUIRED) == sorted(
        [
            *["RBN_OIDC_ISSUER", "RBN_OIDC_AUDIENCE"] * 3,
            *[*LEGAL] * 2,  # conferences and notifications
            "CONFERENCES_PUBLIC_BASE_URL",
            "CONFERENCES_LINK_SECRET",
            "NOTIFICATIONS_SMTP_HOST",
            "NOTIFICATIONS_MAIL_FROM",
            "NOTIFICATIONS_PUBLIC_BASE_URL",
            "NOTIFICATIONS_UNSUBSCRIBE_SECRET",
        ]
    )


@pytest.mark.parametrize(("cls", "variable"), REQUIRED, ids=lambda v: getattr(v, "__name__", v))
def test_production_refuses_each_missing_setting_by_its_name(
    environment: pytest.MonkeyPatch, cls: type[ServiceSettings], variable: str
) -> None:
    env = {k: v for k, v in COMPLETE[cls].items() if k != variable}
    error = refused(load(environment, cls, env))
    assert error.variables == [variable]
    assert variable in str(error)
    assert ".env.example" in str(error)


@pytest.mark.parametrize("cls", list(COMPLETE), ids=lambda c: c.__name__)
def test_production_accepts_complete_settings(
    environment: pytest.MonkeyPatch, cls: type[ServiceSettings]
) -> None:
    settings = load(environment, cls, COMPLETE[cls])
    settings.check_environment()
    assert settings.production_problems() == []


@pytest.mark.parametrize("cls", list(COMPLETE), ids=lambda c: c.__name__)
def test_development_accepts_the_defaults(
    environment: pytest.MonkeyPatch, cls: type[ServiceSettings]
) -> None:
    settings = load(environment, cls, {"RBN_ENVIRONMENT": "development"})
    settings.check_environment()  # as today: ./dev up and the tests run on the defaults
    assert settings.production_problems(), "the same defaults would not do in production"


@pytest.mark.parametrize("cls", list(COMPLETE), ids=lambda c: c.__name__)
def test_production_is_the_default_environment(
    environment: pytest.MonkeyPatch, cls: type[ServiceSettings]
) -> None:
    error = refused(cls())
    assert "RBN_OIDC_ISSUER" in error.variables


@pytest.mark.parametrize(("cls", "variable", "default"), SECRETS)
def test_a_secret_set_to_its_development_default_is_refused(
    environment: pytest.MonkeyPatch, cls: type[ServiceSettings], variable: str, default: str
) -> None:
    error = refused(load(environment, cls, {**COMPLETE[cls], variable: default}))
    assert error.variables == [variable]
    assert MAKE_A_SECRET in str(error)
    assert default not in str(error)


@pytest.mark.parametrize(("cls", "variable", "default"), SECRETS)
def test_a_secret_shorter_than_32_characters_is_refused_and_never_shown(
    environment: pytest.MonkeyPatch, cls: type[ServiceSettings], variable: str, default: str
) -> None:
    short = "s3cr3t-" + "x" * (SECRET_MIN_LENGTH - 8)
    error = refused(load(environment, cls, {**COMPLETE[cls], variable: short}))
    assert error.variables == [variable]
    assert "shorter than 32 characters" in str(error)
    assert short not in str(error)
    assert short not in repr(error.problems)
    exactly = load(environment, cls, {**COMPLETE[cls], variable: "x" * SECRET_MIN_LENGTH})
    exactly.check_environment()


@pytest.mark.parametrize(("cls", "variable", "default"), PUBLIC_URLS)
def test_a_public_url_set_to_its_development_default_is_refused(
    environment: pytest.MonkeyPatch, cls: type[ServiceSettings], variable: str, default: str
) -> None:
    error = refused(load(environment, cls, {**COMPLETE[cls], variable: default + "/"}))
    assert error.variables == [variable]
    assert "development default" in str(error)


def test_every_problem_is_listed_at_once(environment: pytest.MonkeyPatch) -> None:
    error = refused(load(environment, NotificationsSettings, {"RBN_ENVIRONMENT": "production"}))
    assert error.variables == [
        "RBN_OIDC_ISSUER",
        "RBN_OIDC_AUDIENCE",
        "RBN_IMPRINT_URL",
        "RBN_PRIVACY_NOTICE_URL",
        "NOTIFICATIONS_SMTP_HOST",
        "NOTIFICATIONS_MAIL_FROM",
        "NOTIFICATIONS_PUBLIC_BASE_URL",
        "NOTIFICATIONS_UNSUBSCRIBE_SECRET",
    ]
    assert all(problem.fix for problem in error.problems)


def test_production_refuses_a_static_token_table(environment: pytest.MonkeyPatch) -> None:
    env = {**COMPLETE[RegistrySettings], "REGISTRY_AUTH_TOKENS": '{"t": "district"}'}
    error = refused(load(environment, RegistrySettings, env))
    assert error.variables == ["REGISTRY_AUTH_TOKENS"]


# ---------------------------------------------------------------------- the services as processes

MODULES = {
    "registry": "registry.entrypoints.main",
    "conferences": "conferences.entrypoints.main",
    "notifications": "notifications.entrypoints.main",
}
PROCESS_CASES = [
    ("notifications", NotificationsSettings, "NOTIFICATIONS_SMTP_HOST"),
    ("conferences", ConferencesSettings, "CONFERENCES_LINK_SECRET"),
    ("registry", RegistrySettings, "RBN_OIDC_ISSUER"),
]


@pytest.mark.parametrize(("service", "cls", "variable"), PROCESS_CASES)
def test_the_service_process_refuses_to_start_naming_the_variable(
    service: str, cls: type[ServiceSettings], variable: str
) -> None:
    short = "a-short-secret-nobody-may-see"
    env = {**outside_settings_removed(), **COMPLETE[cls]}
    env = {k: v for k, v in env.items() if k != variable}
    secret_variable = {
        "conferences": "CONFERENCES_LINK_SECRET",
        "notifications": "NOTIFICATIONS_UNSUBSCRIBE_SECRET",
    }.get(service)
    if secret_variable and secret_variable != variable:
        env[secret_variable] = short  # refused too, and its value must not be shown
    # Nothing listens there: a service that tried to connect would not exit at once.
    env[f"{service.upper()}_KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:9"
    env[f"{service.upper()}_MONGO_URL"] = "mongodb://127.0.0.1:9"
    done = started(env, MODULES[service])
    assert variable in done.stderr
    assert "refusing to start" in done.stderr
    assert "Traceback" not in done.stderr
    assert short not in done.stderr + done.stdout
    if secret_variable and secret_variable != variable:
        assert secret_variable in done.stderr


def started(env: dict[str, str], module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A service's entry point run with `env`, which must refuse to start."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == REFUSED_TO_START, done.stderr
    return done


def test_the_registry_seed_refuses_too() -> None:
    env = {**outside_settings_removed(), "RBN_ENVIRONMENT": "production"}
    done = started(env, MODULES["registry"], "seed")
    assert "RBN_OIDC_ISSUER" in done.stderr
    assert "Traceback" not in done.stderr


def test_several_kafka_brokers_in_one_variable_become_a_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A string with commas handed to a Kafka client is taken for one host name.
    monkeypatch.setenv("RBN_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092, kafka-2:9092,kafka-3:9092,")
    assert ServiceSettings().kafka_bootstrap_servers == [
        "kafka:9092",
        "kafka-2:9092",
        "kafka-3:9092",
    ]
    monkeypatch.setenv("RBN_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    assert ServiceSettings().kafka_bootstrap_servers == ["127.0.0.1:9092"]
