"""Settings from the environment, one prefix per service (REGISTRY_, CONFERENCES_, NOTIFICATIONS_).

Secrets are `SecretStr`: they are read from the environment only and never printed or logged.
Sign-in (`AuthSettings`) is the same for every service and read with the shared prefix RBN_
(docs/sign-in.md).

With RBN_ENVIRONMENT=production a service does not start while a setting it needs there is
missing or still a development default: `ServiceSettings.production_problems` lists them (each
service's settings add their own), and `settings_for_start` is what a service's entry point calls
to load its settings, refusing to start with one structured error that names every variable.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rbn_shared.events.topics import Topics
from rbn_shared.logging import configure_logging, get_logger

SECRET_MIN_LENGTH = 32
MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105
"""How an operator makes a secret (64 characters), as the refusals and .env.example say."""

REFUSED_TO_START = 2
"""The exit code of a service that refuses to start because of its settings."""

# The kinds of number the settings of every service take; none may be zero or negative.
Seconds = Annotated[float, Field(gt=0)]
"""A period or timeout, in seconds."""
Days = Annotated[int, Field(ge=1)]
"""A period in whole days (how long something is kept)."""
Port = Annotated[int, Field(ge=1, le=65535)]

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
    oidc_jwks_cache_seconds: Seconds = Field(
        default=300.0, description="How long fetched signing keys are used unrefreshed."
    )
    oidc_jwks_refresh_cooldown_seconds: float = Field(
        default=5.0,
        ge=0,
        description="At least this long between two fetches of the keys: a token with an "
        "unknown key id triggers one only after it.",
    )
    oidc_http_timeout_seconds: Seconds = Field(
        default=5.0, description="Timeout of each request to the provider."
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


class LegalSettings(BaseSettings):
    """The operator's legal notices, linked from every public page (the response and unsubscribe
    pages, the portal) and every mail: Impressum (§ 5 DDG) and Datenschutzerklärung (Art. 13
    DSGVO). Read from RBN_IMPRINT_URL and RBN_PRIVACY_NOTICE_URL by every service alike."""

    model_config = SettingsConfigDict(env_prefix="RBN_", extra="ignore", frozen=True)

    imprint_url: AnyHttpUrl | None = Field(
        default=None, description="The operator's Impressum, e.g. https://bezirk.example/impressum"
    )
    privacy_notice_url: AnyHttpUrl | None = Field(
        default=None,
        description="The Datenschutzerklärung for this platform (docs/privacy.md has a draft).",
    )


@dataclass(frozen=True)
class SettingProblem:
    """One setting unfit for production: its environment variable, what is wrong, how to fix it.

    Never the value: a secret's value is not repeated anywhere."""

    variable: str
    problem: str
    fix: str


class ProductionSettingsError(ValueError):
    """RBN_ENVIRONMENT=production, and settings it needs are missing or development defaults."""

    def __init__(self, problems: list[SettingProblem]) -> None:
        self.problems = problems
        lines = [f"  {p.variable}: {p.problem}. {p.fix}" for p in problems]
        super().__init__(
            "RBN_ENVIRONMENT=production refuses to start with these settings (set them in the "
            "environment, e.g. the .env of docker compose; .env.example lists them all):\n"
            + "\n".join(lines)
        )

    @property
    def variables(self) -> list[str]:
        return [p.variable for p in self.problems]


class ServiceSettings(BaseSettings):
    """What every service needs: Kafka, MongoDB, HTTP and logging.

    A service's settings add what production needs of them by extending `production_problems`.
    """

    model_config = SettingsConfigDict(env_prefix="RBN_", extra="ignore", frozen=True)

    kafka_bootstrap_servers: Annotated[list[str], NoDecode] = Field(
        default=["127.0.0.1:9092"],
        description="host:port of one or more brokers, comma-separated (kafka:9092,kafka-2:9092)",
    )
    topic_prefix: str = Field(default="rbn.", description="Prefix of every topic name.")
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)

    mongo_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    mongo_database: str = "rbn"

    http_host: str = "127.0.0.1"
    http_port: Port = 8000

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    outbox_poll_seconds: Seconds = 1.0
    outbox_sweep_seconds: Seconds = Field(
        default=10.0,
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
    legal: LegalSettings = Field(
        default_factory=LegalSettings,
        description="Impressum and Datenschutzerklärung, from RBN_IMPRINT_URL and "
        "RBN_PRIVACY_NOTICE_URL (not the service's prefix).",
    )
    topic_retention_days: float = Field(
        default=7.0,
        gt=0,
        description="How long Kafka keeps the project's events (retention.ms of each topic, set "
        "when a topic is created and corrected at start-up). Events carry names and addresses: "
        "docs/privacy.md.",
    )

    @field_validator("kafka_bootstrap_servers", mode="before")
    @classmethod
    def _servers_from_a_list(cls, value: object) -> object:
        """One comma-separated variable, as operators write it; each client gets the list (a
        string with commas would be taken for one host name)."""
        if isinstance(value, str):
            return [server.strip() for server in value.split(",") if server.strip()]
        return value

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    # ------------------------------------------------------------------ production

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of a setting: `smtp_host` -> NOTIFICATIONS_SMTP_HOST."""
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    def production_problems(self) -> list[SettingProblem]:
        """What production would refuse in these settings, whatever the environment is now.

        Here: sign-in (the issuer and audience of the access tokens, no static token table);
        each service's settings extend the list with their own (`required`, `secret`)."""
        problems: list[SettingProblem] = []
        auth = self.auth
        if auth.oidc_issuer is None:
            problems.append(
                SettingProblem(
                    "RBN_OIDC_ISSUER",
                    "not set",
                    "Set it to the OpenID Connect provider's issuer URL, exactly as in the tokens' "
                    "iss claim, e.g. https://login.example/realms/rbn (docs/sign-in.md).",
                )
            )
        if "oidc_audience" not in auth.model_fields_set or not auth.oidc_audience.strip():
            problems.append(
                SettingProblem(
                    "RBN_OIDC_AUDIENCE",
                    "not set",
                    "Set it to what the access tokens' aud claim contains for this platform "
                    "(rbn-api with the repository's Keycloak realm).",
                )
            )
        tokens: Any = getattr(self, "auth_tokens", None)
        if tokens:
            problems.append(
                SettingProblem(
                    self.variable("auth_tokens"),
                    "a static token table is set, which production refuses",
                    "Remove it: staff and machine clients sign in through OpenID Connect "
                    "(docs/sign-in.md); token tables are for tests and development only.",
                )
            )
        return problems

    def legal_problems(self) -> list[SettingProblem]:
        """For a service with public pages: production needs the Impressum and the
        Datenschutzerklärung they link."""
        problems: list[SettingProblem] = []
        for field, what in (
            ("imprint_url", "the operator's Impressum"),
            ("privacy_notice_url", "the Datenschutzerklärung (docs/privacy.md has a draft)"),
        ):
            if getattr(self.legal, field) is None:
                problems.append(
                    SettingProblem(
                        f"RBN_{field}".upper(),
                        "not set",
                        f"Set it to the public URL of {what}; every public page and mail links it.",
                    )
                )
        return problems

    def required(
        self, field: str, fix: str, *, development_default: object = None
    ) -> list[SettingProblem]:
        """A problem if `field` was not set in the environment (or is empty), or is still the
        development default it is compared with (trailing slashes of URLs aside)."""
        value = getattr(self, field)
        if field not in self.model_fields_set or not str(value).strip():
            return [SettingProblem(self.variable(field), "not set", fix)]
        if development_default is not None and _same(value, development_default):
            return [
                SettingProblem(
                    self.variable(field),
                    f"still the development default {development_default}",
                    fix,
                )
            ]
        return []

    def secret(self, field: str, development_default: str, what: str) -> list[SettingProblem]:
        """A problem if the secret `field` is still its development default or shorter than
        SECRET_MIN_LENGTH characters. The value is never part of the problem."""
        value: SecretStr = getattr(self, field)
        fix = f"{what} Make one with: {MAKE_A_SECRET}"
        if value.get_secret_value() == development_default:
            return [SettingProblem(self.variable(field), "not set (the development default)", fix)]
        if len(value.get_secret_value()) < SECRET_MIN_LENGTH:
            return [
                SettingProblem(
                    self.variable(field), f"shorter than {SECRET_MIN_LENGTH} characters", fix
                )
            ]
        return []

    def check_environment(self) -> None:
        """Raise `ProductionSettingsError` if this is production and any setting is unfit."""
        if self.auth.environment != "production":
            return
        problems = self.production_problems()
        if problems:
            raise ProductionSettingsError(problems)


def _same(value: object, default: object) -> bool:
    return str(value).rstrip("/") == str(default).rstrip("/")


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def settings_for_start(cls: type[SettingsT], service: str) -> SettingsT:
    """A service's settings for its entry point, with its logging configured from them.

    Settings that cannot be read, or that RBN_ENVIRONMENT=production refuses, end the process
    with exit code REFUSED_TO_START and one structured error on stderr naming every variable
    (never a value), instead of a traceback."""
    try:
        settings = cls()
    except ValidationError as error:
        configure_logging(service)
        problems = [_unreadable(cls, error, detail) for detail in error.errors()]
        lines = "\n".join(f"  {p.variable}: {p.problem}" for p in problems)
        _refuse(problems, f"the settings cannot be read:\n{lines}")
    configure_logging(service, settings.log_level, settings.log_format)
    try:
        settings.check_environment()
    except ProductionSettingsError as error:
        _refuse(error.problems, str(error))
    return settings


def _unreadable(cls: type[ServiceSettings], error: ValidationError, detail: Any) -> SettingProblem:
    """The variable of one value pydantic refused (the shared RBN_ prefix for sign-in's)."""
    reader: type[BaseSettings] = AuthSettings if error.title == AuthSettings.__name__ else cls
    field = str(detail["loc"][0]) if detail.get("loc") else ""
    variable = f"{reader.model_config.get('env_prefix', '')}{field}".upper()
    return SettingProblem(variable, f"cannot be read: {detail['msg']}", "Correct its value.")


def _refuse(problems: list[SettingProblem], message: str) -> NoReturn:
    get_logger(__name__).error(
        "refusing to start",
        variables=[p.variable for p in problems],
        problems=[asdict(p) for p in problems],
        message=message,
    )
    raise SystemExit(REFUSED_TO_START)
