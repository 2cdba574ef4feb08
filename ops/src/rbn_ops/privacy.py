"""The data subjects' rights through the services' HTTP APIs (docs/privacy.md): erase a person
(Art. 17 DSGVO) at the registry, export what every service holds about them (Art. 15) as one
document, and read the privacy audit of all three.

Only the services' `/privacy/...` routes, with the operator's bearer token; none of their code.
An address travels in request bodies only (never in a URL, so no access log holds it) and is
never repeated in what is printed: answers name the person by their subject, the SHA-256 of the
canonical address (`rbn_shared.privacy.subject_of`), which this module computes itself to check
that every service answered for the same person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from rbn_shared.logging import mask_email
from rbn_shared.privacy import subject_of

SERVICES = ("registry", "conferences", "notifications")
"""Every service that holds personal data, in the order the export lists them."""

TIMEOUT_SECONDS = 30.0
"""An export may walk a service's every conference or delivery: longer than a status check."""

TRANSPORT: httpx.BaseTransport | None = None
"""The HTTP transport of every request (None: the network). Tests set a fake one."""


class ServiceFailed(Exception):
    """A service did not answer, refused, or answered something that is not what was asked.

    The message names the service and never contains the person's address."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service


class ServicesFailed(Exception):
    """At least one service gave no answer for a command that needs all three (the export
    and the audit): nothing is written or shown then."""

    def __init__(self, failures: list[ServiceFailed]) -> None:
        self.failures = failures
        self.services = [f.service for f in failures]
        super().__init__("; ".join(str(f) for f in failures))


@dataclass(frozen=True)
class Erased:
    """The registry's answer to an erasure: `new` False for a repeat that found nothing new."""

    new: bool
    erasure_id: str
    subject: str
    erased_at: str
    network_ids: list[str]
    member_ids: list[str]
    staff_ids: list[str]


def _client(token: str) -> httpx.Client:
    return httpx.Client(
        transport=TRANSPORT,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=TIMEOUT_SECONDS,
    )


def _without(text: str, address: str | None) -> str:
    """A service's text with the address (and any other address) masked."""
    if address:
        text = text.replace(address, "<address>").replace(address.strip(), "<address>")
    return mask_email(text)


def _problem(response: httpx.Response, address: str | None) -> str:
    """A refusal as `status: detail`, from the problem document where there is one."""
    try:
        body = response.json()
    except ValueError:
        detail = response.text[:300]
    else:
        detail = (
            str(body.get("detail") or body.get("title") or body)
            if isinstance(body, dict)
            else str(body)
        )
    return f"refused ({response.status_code}): {_without(detail, address)}"


def _call(
    client: httpx.Client,
    service: str,
    method: str,
    url: str,
    *,
    address: str | None = None,
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
    accept: tuple[int, ...] = (200,),
) -> tuple[int, dict[str, Any]]:
    try:
        response = client.request(method, url, json=body, params=params)
    except httpx.HTTPError as error:
        raise ServiceFailed(
            service, f"did not answer at {url} ({type(error).__name__}: {error})"
        ) from error
    if response.status_code not in accept:
        raise ServiceFailed(service, _problem(response, address))
    try:
        answer = response.json()
    except ValueError as error:
        raise ServiceFailed(service, f"answered {response.status_code} without JSON") from error
    if not isinstance(answer, dict):
        raise ServiceFailed(service, "answered something other than a JSON object")
    return response.status_code, answer


def _expect(service: str, answer: Mapping[str, Any], *fields: str) -> None:
    missing = [f for f in fields if f not in answer]
    if missing:
        raise ServiceFailed(service, f"the answer lacks {', '.join(missing)}")


def erase(registry_url: str, token: str, address: str) -> Erased:
    """Erase the person of `address` from the whole system: the registry anonymises its records
    and publishes `person-erased`, on which the other services erase theirs."""
    with _client(token) as client:
        status, answer = _call(
            client,
            "registry",
            "POST",
            f"{registry_url.rstrip('/')}/privacy/erasures",
            address=address,
            body={"email": address},
            accept=(200, 201),
        )
    _expect("registry", answer, "erasure_id", "subject", "erased_at")
    if answer["subject"] != subject_of(address):
        raise ServiceFailed("registry", "answered for another subject than the address's")
    return Erased(
        new=status == 201,
        erasure_id=str(answer["erasure_id"]),
        subject=str(answer["subject"]),
        erased_at=str(answer["erased_at"]),
        network_ids=[str(n) for n in answer.get("network_ids") or []],
        member_ids=[str(m) for m in answer.get("member_ids") or []],
        staff_ids=[str(s) for s in answer.get("staff_ids") or []],
    )


def export(urls: Mapping[str, str], token: str, address: str) -> dict[str, Any]:
    """One document of everything every service holds about the person of `address`:
    `{"subject", "generated_at", "services": {"registry": {...}, ...}}`, each service's answer
    as it gave it. Every service must answer: one that does not (or answers for another subject)
    fails the whole export, naming every such service, rather than leave a silent gap."""
    subject = subject_of(address)
    answers: dict[str, Any] = {}
    failures: list[ServiceFailed] = []
    with _client(token) as client:
        for service in SERVICES:
            try:
                _, answer = _call(
                    client,
                    service,
                    "POST",
                    f"{urls[service].rstrip('/')}/privacy/access",
                    address=address,
                    body={"email": address},
                )
                _expect(service, answer, "subject", "items")
                if answer["subject"] != subject:
                    raise ServiceFailed(service, "answered for another subject than the address's")
                if not isinstance(answer["items"], list):
                    raise ServiceFailed(service, "its items are not a list")
            except ServiceFailed as failure:
                failures.append(failure)
            else:
                answers[service] = answer
    if failures:
        raise ServicesFailed(failures)
    return {
        "subject": subject,
        "generated_at": datetime.now(UTC).isoformat(),
        "services": answers,
    }


def audit(urls: Mapping[str, str], token: str, subject: str | None) -> list[dict[str, Any]]:
    """The privacy audit of every service (erasures, access exports), oldest first, each entry
    with the service that recorded it. Every service must answer, as for the export."""
    params = {"subject": subject} if subject else None
    entries: list[dict[str, Any]] = []
    failures: list[ServiceFailed] = []
    with _client(token) as client:
        for service in SERVICES:
            try:
                _, answer = _call(
                    client,
                    service,
                    "GET",
                    f"{urls[service].rstrip('/')}/privacy/audit",
                    params=params,
                )
                items = answer.get("items")
                if not isinstance(items, list):
                    raise ServiceFailed(service, "the answer lacks its list of items")
            except ServiceFailed as failure:
                failures.append(failure)
            else:
                entries.extend({"service": service, **entry} for entry in items)
    if failures:
        raise ServicesFailed(failures)
    return sorted(entries, key=lambda e: str(e.get("at", "")))
