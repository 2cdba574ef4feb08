"""OpenID Connect access tokens: validated against the provider's keys, mapped to a `Principal`.

What is checked, in this order (docs/sign-in.md):

1. the header's `alg` is one of the accepted asymmetric algorithms (never `none`, never HMAC),
   before any key is looked up;
2. the signature, with the provider's key named by `kid`: the keys come from the `jwks_uri` of
   `<issuer>/.well-known/openid-configuration` (or RBN_OIDC_JWKS_URL), fetched with PyJWT's
   `PyJWKClient`, kept for RBN_OIDC_JWKS_CACHE_SECONDS and fetched anew for an unknown `kid`, at
   most once per RBN_OIDC_JWKS_REFRESH_COOLDOWN_SECONDS (so forged key ids cannot make the
   service hammer the provider); a key must be a signing key whose algorithm is the token's;
3. `iss` equals the issuer, `aud` contains the audience, `exp` (and `nbf`, `iat`) hold with
   RBN_OIDC_LEEWAY_SECONDS of clock skew; `exp`, `iat`, `iss`, `aud` and `sub` must be present;
4. the roles claim (RBN_OIDC_ROLES_CLAIM) names exactly one role for this platform.

A refused token is a 401 problem (`WWW-Authenticate: Bearer error="invalid_token"`), a valid
token without a role a 403, and a provider whose keys cannot be fetched a 503 with Retry-After
(the caller may try again; it is not the token's fault). Tokens are never logged; keys fetched
earlier are still used while the provider is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient

from rbn_shared.auth import DISTRICT, OFFICE, READER, Principal, invalid_token
from rbn_shared.http import Problem
from rbn_shared.logging import get_logger
from rbn_shared.settings import NETWORK_PLACEHOLDER, AuthSettings

log = get_logger(__name__)

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
RETRY_AFTER_SECONDS = 5


class TokenRejected(Exception):
    """The token is not accepted; `reason` is a short ASCII text safe to show and log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(Exception):
    """The provider's keys (or its configuration) could not be fetched."""


def _discover_jwks_uri(issuer: str, timeout: float) -> str:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only: the issuer is validated by AuthSettings
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        document = json.load(response)
    if not isinstance(document, dict) or not isinstance(document.get("jwks_uri"), str):
        raise ValueError(f"{url} names no jwks_uri")
    if document.get("issuer") != issuer:
        raise ValueError(
            f"{url} names the issuer {document.get('issuer')!r}, not RBN_OIDC_ISSUER={issuer!r}"
        )
    jwks_uri: str = document["jwks_uri"]
    return jwks_uri


class SigningKeys:
    """The provider's public signing keys: discovered, cached, refreshed on an unknown key id.

    `cached` answers without I/O; `lookup` may fetch and blocks (run it in a thread). Thread-safe,
    so one instance serves every event loop and request.
    """

    def __init__(
        self,
        issuer: str,
        *,
        jwks_url: str | None = None,
        cache_seconds: float = 300.0,
        cooldown_seconds: float = 5.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.cache_seconds = cache_seconds
        self.cooldown_seconds = cooldown_seconds
        self.timeout = timeout
        self._clock = clock
        self._jwks_url = jwks_url
        self._client: PyJWKClient | None = None
        self._lock = threading.Lock()
        self._keys: tuple[list[PyJWK], float] = ([], float("-inf"))  # keys, when fetched
        self._last_attempt: float | None = None
        self._last_failed = False
        self.fetches = 0  # successful fetches of the key set (for tests and metrics)

    @staticmethod
    def _match(keys: list[PyJWK], kid: str | None, alg: str) -> PyJWK | None:
        if kid is None:  # no key id: only if one key of this algorithm is published
            candidates = [k for k in keys if k.algorithm_name == alg]
            return candidates[0] if len(candidates) == 1 else None
        for key in keys:
            if key.key_id == kid:
                if key.algorithm_name != alg:
                    raise TokenRejected("the token's algorithm does not match its key")
                return key
        return None

    def cached(self, kid: str | None, alg: str) -> PyJWK | None:
        """The key, if it is among keys fetched less than `cache_seconds` ago."""
        keys, fetched_at = self._keys
        if self._clock() - fetched_at >= self.cache_seconds:
            return None
        return self._match(keys, kid, alg)

    def _fetch(self) -> list[PyJWK]:
        if self._client is None:
            uri = self._jwks_url or _discover_jwks_uri(self.issuer, self.timeout)
            # PyJWKClient fetches and parses (http(s) only, no redirects); the caching policy
            # is this class's, so its own cache is off.
            self._client = PyJWKClient(uri, cache_jwk_set=False, timeout=self.timeout)
        jwk_set = self._client.get_jwk_set()
        return [k for k in jwk_set.keys if k.public_key_use in ("sig", None)]

    def refresh(self) -> None:
        """Fetches the keys now (blocking), e.g. at start-up; a failure is logged, not raised."""
        with self._lock, contextlib.suppress(ProviderUnavailable):
            self._fetch_at(self._clock())

    def _fetch_at(self, now: float, *, earlier_key: bool = False) -> list[PyJWK]:
        """The provider's keys, fetched now and stored; a failure is logged and raised as
        `ProviderUnavailable` (under the lock)."""
        self._last_attempt = now
        try:
            fetched = self._fetch()
        except (jwt.PyJWTError, OSError, ValueError) as error:
            self._last_failed = True
            log.warning(
                "could not fetch the sign-in provider's keys",
                issuer=self.issuer,
                error=str(error),
                using_earlier_keys=earlier_key,
            )
            raise ProviderUnavailable(str(error)) from error
        self._store(fetched, now)
        return fetched

    def _store(self, fetched: list[PyJWK], now: float) -> None:
        self._last_failed = False
        self._keys = (fetched, now)
        self.fetches += 1
        log.info(
            "fetched the sign-in provider's keys",
            issuer=self.issuer,
            key_ids=[k.key_id for k in fetched],
        )

    def lookup(self, kid: str | None, alg: str) -> PyJWK:
        """The key for `kid`; fetches the key set when it is old or lacks `kid` (rate-limited).

        Raises `TokenRejected` for a key the provider does not publish, `ProviderUnavailable`
        when the keys cannot be fetched and no earlier copy has the key.
        """
        with self._lock:
            now = self._clock()
            keys, fetched_at = self._keys
            key = self._match(keys, kid, alg)
            if key is not None and now - fetched_at < self.cache_seconds:
                return key
            if self._last_attempt is not None and now - self._last_attempt < self.cooldown_seconds:
                if key is not None:
                    return key
                if self._last_failed:
                    raise ProviderUnavailable("the last fetch of the signing keys failed")
                raise TokenRejected("unknown signing key")
            try:
                fetched = self._fetch_at(now, earlier_key=key is not None)
            except ProviderUnavailable:
                if key is not None:
                    return key
                raise
            key = self._match(fetched, kid, alg)
            if key is None:
                raise TokenRejected("unknown signing key")
            return key


class TokenValidator:
    """Validates an access token's header, signature and claims; returns its claims."""

    def __init__(self, settings: AuthSettings, keys: SigningKeys | None = None) -> None:
        if settings.oidc_issuer is None:
            raise ValueError("RBN_OIDC_ISSUER is not set")
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.algorithms = frozenset(settings.oidc_algorithms)
        self.leeway = settings.oidc_leeway_seconds
        self.keys = keys or SigningKeys(
            settings.oidc_issuer,
            jwks_url=str(settings.oidc_jwks_url) if settings.oidc_jwks_url else None,
            cache_seconds=settings.oidc_jwks_cache_seconds,
            cooldown_seconds=settings.oidc_jwks_refresh_cooldown_seconds,
            timeout=settings.oidc_http_timeout_seconds,
        )

    def _header(self, token: str) -> tuple[str, str | None]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("malformed token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise TokenRejected("signature algorithm not allowed")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("malformed key id")
        return alg, kid

    async def validate(self, token: str) -> dict[str, Any]:
        alg, kid = self._header(token)
        key = self.keys.cached(kid, alg)
        if key is None:
            key = await asyncio.to_thread(self.keys.lookup, kid, alg)
        return self.decode(token, key, alg)

    def decode(self, token: str, key: PyJWK, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("bad signature") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRejected(f"no {error.claim} claim") from None
        except jwt.PyJWTError:
            raise TokenRejected("invalid token") from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise TokenRejected("no sub claim")
        return claims


_NETWORK_ID = r"(?P<network>[a-z0-9]+(?:-[a-z0-9]+)*)"


class ClaimMapping:
    """From the roles claim's values to a role: district over office over reader."""

    def __init__(self, settings: AuthSettings) -> None:
        self.claim = settings.oidc_roles_claim
        self.district = settings.oidc_district_value
        self.reader = settings.oidc_reader_value
        before, after = settings.oidc_office_pattern.split(NETWORK_PLACEHOLDER)
        self._office = re.compile(re.escape(before) + _NETWORK_ID + re.escape(after))

    def values(self, claims: Mapping[str, Any]) -> list[str]:
        value: Any = claims
        for part in self.claim.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str)]
        return []

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        """The principal, or a 403 problem when the claim names no role or several offices."""
        values = self.values(claims)
        subject = str(claims["sub"])
        if self.district in values:
            return Principal(DISTRICT, subject=subject)
        offices = sorted(
            {m["network"] for m in map(self._office.fullmatch, values) if m is not None}
        )
        if len(offices) > 1:
            raise Problem(
                403,
                "Forbidden",
                f"This account belongs to several offices ({', '.join(offices)}); the platform "
                "takes one office per account.",
                kind="forbidden",
            )
        if offices:
            return Principal(OFFICE, offices[0], subject=subject)
        if self.reader in values:
            return Principal(READER, subject=subject)
        raise Problem(
            403,
            "Forbidden",
            "This account has no role in the RBN platform (district coordination, an office or "
            "reader); ask the district coordination for one.",
            kind="forbidden",
        )


class OidcAuthenticator:
    """`Authenticator` for access tokens from an OpenID Connect provider."""

    def __init__(self, settings: AuthSettings, keys: SigningKeys | None = None) -> None:
        self.validator = TokenValidator(settings, keys)
        self.mapping = ClaimMapping(settings)

    @property
    def keys(self) -> SigningKeys:
        return self.validator.keys

    async def prepare(self) -> None:
        """Fetches the keys ahead of the first request (optional, e.g. at start-up); a provider
        that does not answer yet is only logged."""
        await asyncio.to_thread(self.keys.refresh)

    async def authenticate(self, token: str) -> Principal:
        try:
            claims = await self.validator.validate(token)
        except TokenRejected as rejected:
            log.info("bearer token refused", reason=rejected.reason)
            raise invalid_token(rejected.reason) from None
        except ProviderUnavailable:
            raise Problem(
                503,
                "Service unavailable",
                "The sign-in provider's keys cannot be fetched just now; try again shortly.",
                kind="sign-in-unavailable",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        return self.mapping.principal(claims)
