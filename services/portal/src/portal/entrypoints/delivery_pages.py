"""Zustellungen: which mails of the network went out, and which did not arrive and why. A mail
that failed because of a wrong address is corrected here (after a confirmation: the mail goes
to the new address again): a committee member's address in the registry, an external
delegate's in the conferences service. The notifications service decides who sees what (an
office its own network's, a reader nothing: 403)."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal.adapters.apis import Answer, Api
from portal.domain import forms
from portal.domain.forms import Problems
from portal.entrypoints.web import Call, Calls, Posted, page, refused, see_other

router = APIRouter()

PAGE_SIZE = 50
FAILED = "failed"
Delivery = Mapping[str, Any]


# ---------------------------------------------------------------------------- pure parts


def in_order(deliveries: Iterable[Delivery]) -> list[Delivery]:
    """Failed ones first (the latest failure first), then the rest, newest first."""
    items = list(deliveries)
    failed = [d for d in items if d.get("status") == FAILED]
    rest = [d for d in items if d.get("status") != FAILED]
    failed.sort(key=lambda d: str(d.get("failed_at") or d.get("created_at") or ""), reverse=True)
    rest.sort(key=lambda d: str(d.get("created_at") or ""), reverse=True)
    return failed + rest


def arranged(
    failed: Iterable[Delivery], listed: Iterable[Delivery]
) -> tuple[list[Delivery], list[Delivery]]:
    """The failed ones (all of them, in order) and one page of the others, newest first: a
    failed delivery on the page is shown once, in the first table."""
    ordered = in_order(failed)
    rest = [d for d in in_order(listed) if d.get("status") != FAILED]
    return ordered, rest


def same_address(a: str | None, b: str | None) -> bool:
    """One address however it is written: case, Unicode form and IDNA domain do not matter."""
    if not a or not b:
        return False
    return _comparable(a) == _comparable(b)


def _comparable(address: str) -> str:
    local, _, domain = unicodedata.normalize("NFC", address.strip()).rpartition("@")
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
    return f"{local.casefold()}@{domain.casefold()}"


@dataclass(frozen=True)
class Target:
    """Whose address a failed delivery's correction changes, and where."""

    kind: str  # "member" (the registry) or "delegate" (the conferences service)
    path: str
    version: int | None
    name: str
    address: str


@dataclass(frozen=True)
class NoTarget:
    """Why a failed delivery has no correction form here, in German."""

    why: str


def target_of(
    delivery: Delivery,
    committee: Iterable[Mapping[str, Any]] | None,
    conference: Mapping[str, Any] | None = None,
    conference_version: int | None = None,
) -> Target | NoTarget:
    """Who the failed `delivery` went to, if their address can be corrected here: an active
    committee member of the network (by `source` of the invitation, else by address), or an
    external delegate of the `conference` the delivery was about."""
    recipient = str(delivery.get("recipient") or "")
    network_id = delivery.get("network_id")
    members = [m for m in committee or [] if m.get("removed_on") is None]
    invitation = None
    if conference is not None and delivery.get("invitation_id"):
        invitation = next(
            (
                i
                for i in conference.get("invitations") or []
                if i.get("invitation_id") == delivery["invitation_id"]
            ),
            None,
        )
    if invitation is not None:
        if not same_address(invitation.get("email"), recipient):
            return NoTarget(f"Die Adresse wurde inzwischen geändert: {invitation.get('email')}.")
        source = str(invitation.get("source") or "")
        if source == "external":
            return Target(
                "delegate",
                f"/conferences/{conference['id']}/invitations/{invitation['invitation_id']}",  # type: ignore[index]
                conference_version,
                str(invitation.get("name") or recipient),
                recipient,
            )
        if source.startswith("staff:"):
            return NoTarget(
                "Die Adresse gehört einer Mitarbeiterin oder einem Mitarbeiter des Bildungsbüros; "
                "sie wird dort geändert, nicht hier."
            )
        if source.startswith("committee:"):
            member_id = source.removeprefix("committee:")
            member = next((m for m in members if m.get("id") == member_id), None)
            if member is not None:
                return _member_target(network_id, member, recipient)
    member = next(
        (m for m in members if same_address((m.get("person") or {}).get("email"), recipient)),
        None,
    )
    if member is not None:
        return _member_target(network_id, member, recipient)
    if any(same_address((m.get("person") or {}).get("email"), recipient) for m in committee or []):
        return NoTarget("Die Person gehört dem Lenkungskreis nicht mehr an.")
    return NoTarget(
        "Die Adresse gehört niemandem, dessen Angaben hier geändert werden können (oder sie "
        "wurde inzwischen schon korrigiert)."
    )


def _member_target(network_id: Any, member: Mapping[str, Any], recipient: str) -> Target | NoTarget:
    person = member.get("person") or {}
    if not same_address(person.get("email"), recipient):
        return NoTarget(f"Die Adresse wurde inzwischen geändert: {person.get('email')}.")
    return Target(
        "member",
        f"/networks/{network_id}/committee/members/{member['id']}",
        member.get("version"),
        str(person.get("name") or recipient),
        recipient,
    )


def is_conflict(status: int, body: Any) -> bool:
    """Someone changed the person or conference since the page was read (not: another
    refusal with status 409, such as an address already invited)."""
    if status != 409:
        return False
    kind = str(body.get("type", "")) if isinstance(body, Mapping) else ""
    return not kind or kind.endswith("version-conflict")


# ---------------------------------------------------------------------------- pages


async def _deliveries(call: Call, **params: Any) -> Answer:
    api = call.apis.notifications
    return await api.get("/deliveries", await call.token(), params)


async def _targets(
    call: Call, network: Mapping[str, Any], failed: list[Delivery]
) -> dict[str, Target | NoTarget]:
    """The correction target of every failed delivery (each conference read once)."""
    conferences: dict[str, Answer] = {}
    targets: dict[str, Target | NoTarget] = {}
    for delivery in failed:
        conference_id = delivery.get("conference_id")
        if conference_id and delivery.get("invitation_id") and conference_id not in conferences:
            conferences[conference_id] = await call.conferences(f"/conferences/{conference_id}")
        answer = conferences.get(conference_id or "")
        conference = answer.body if answer is not None and answer.ok else None
        version = answer.version if answer is not None and answer.ok else None
        targets[delivery["delivery_id"]] = target_of(
            delivery, network.get("committee"), conference, version
        )
    return targets


@router.get("/netzwerke/{network_id}/zustellungen")
async def deliveries(request: Request, network_id: str, call: Calls, seite: int = 1) -> Response:
    seite = max(1, min(seite, 2000))
    listed = await _deliveries(
        call, network_id=network_id, limit=PAGE_SIZE, offset=(seite - 1) * PAGE_SIZE
    )
    if not listed.ok:
        return refused(request, call.person, listed)
    network = await call.registry(f"/networks/{network_id}")
    if not network.ok:
        return refused(request, call.person, network)
    failed_answer = await _deliveries(call, network_id=network_id, status=FAILED, limit=100)
    failed_items = failed_answer.body["items"] if failed_answer.ok else []
    failed, rest = arranged(failed_items, listed.body["items"])
    total = int(listed.body.get("total") or 0)
    return page(
        request,
        "deliveries.html",
        call.person,
        network=network.body,
        failed=failed,
        failed_total=int(failed_answer.body.get("total") or 0) if failed_answer.ok else 0,
        rest=rest,
        targets=await _targets(call, network.body, failed),
        seite=seite,
        total=total,
        more=seite * PAGE_SIZE < total,
        form={},
        problems=Problems(),
    )


@router.post("/netzwerke/{network_id}/zustellungen/{delivery_id}/korrigieren", response_model=None)
async def correct(
    request: Request, network_id: str, delivery_id: str, call: Calls, form: Posted
) -> Response:
    answer = await call.apis.notifications.get(f"/deliveries/{delivery_id}", await call.token())
    if not answer.ok:
        return refused(request, call.person, answer)
    delivery = answer.body
    if delivery.get("network_id") != network_id or delivery.get("status") != FAILED:
        return refused(request, call.person, Answer(404, None, None))
    network = await call.registry(f"/networks/{network_id}")
    if not network.ok:
        return refused(request, call.person, network)
    target = (await _targets(call, network.body, [delivery]))[delivery_id]

    def confirmation(
        problems: Problems, *, status_code: int = 200, conflict: bool = False
    ) -> Response:
        return page(
            request,
            "deliveries_confirm.html",
            call.person,
            status_code=status_code,
            network=network.body,
            delivery=delivery,
            target=target,
            form=form,
            problems=problems,
            conflict=conflict,
        )

    if isinstance(target, NoTarget):
        return confirmation(Problems(general=[target.why]), status_code=409)
    problems = forms.correction_problems(form, target.address)
    if problems or form.get("confirmed") != "yes":  # the mail goes out again: ask first
        return confirmation(problems, status_code=422 if problems else 200)
    # The version the form was read at, so a change made meanwhile is not overwritten.
    version = forms.version_read(form) or target.version
    api: Api = call.apis.registry if target.kind == "member" else call.apis.conferences
    changed = await call.change(
        api, "PATCH", target.path, forms.correction_body(form, target.kind), version=version
    )
    if not changed.ok:
        conflict = is_conflict(changed.status, changed.body)
        refusal = forms.correction_refused(changed.status, changed.body)
        if changed.status == 409 and not conflict:
            detail = changed.body.get("detail") if isinstance(changed.body, Mapping) else None
            refusal = Problems(general=[f"Die Änderung wurde nicht angenommen: {detail or ''}"])
        return confirmation(refusal, status_code=changed.status, conflict=conflict)
    new_address = (form.get("email") or "").strip()
    call.person.notice = (
        f"Die Adresse von {target.name} ist jetzt {new_address}. Die Mail geht noch einmal an "
        "die neue Adresse; in ein paar Minuten sehen Sie hier, ob sie angekommen ist."
    )
    return see_other(f"/netzwerke/{network_id}/zustellungen")
