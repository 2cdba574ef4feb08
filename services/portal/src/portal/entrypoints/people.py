"""A network's people as the portal lists and changes them: the Lenkungskreis and the
Bildungsbüro go the same way, so it is written once here and each area says only what differs.

The way: the list with the form to add someone → the form comes back as a confirmation (the
person gets a welcome mail) → the registry adds them, or its refusal stands beside the fields.
Removing someone: a page asking the date and reason (the person is told) → the registry, with
the version the entry was read at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.apis import Answer
from portal.domain.forms import Form, Problems, version_read
from portal.entrypoints.web import Call, Calls, Posted, form_page, page, refused, see_other

Entry = dict[str, Any]


def _nothing_to_check(form: Form) -> Problems:
    return Problems()


def _as_is(entries: list[Entry]) -> dict[str, Any]:
    return {"entries": entries}


@dataclass(frozen=True)
class People:
    """One kind of a network's people and how its pages treat them."""

    section: str  # the portal's path below the network: "lenkungskreis"
    part: str  # where the registry's network document lists them: "committee"
    resource: str  # the registry's path below the network: "committee/members"
    entry_name: str  # what the removal template calls one of them: "member"
    list_template: str
    removal_template: str
    fields: set[str]
    removal_fields: set[str]
    body: Callable[[Form], dict[str, Any]]
    removal_body: Callable[[Form], dict[str, Any]]
    added: str  # told after adding, with {name}
    removed: str  # told after removing, with {name}
    listed: Callable[[list[Entry]], dict[str, Any]] = _as_is  # the list page's values
    check: Callable[[Form], Problems] = _nothing_to_check  # what the form can tell itself
    problems: Callable[[int, Any, set[str]], Problems] = Problems.of
    form_values: Callable[[Form], dict[str, Any]] = field(
        default=lambda form: {}
    )  # the form's, shown

    def path(self, network_id: str) -> str:
        return f"/netzwerke/{network_id}/{self.section}"

    def router(self) -> APIRouter:
        """The area's pages: the list, adding someone and removing someone."""
        router = APIRouter()
        at = "/netzwerke/{network_id}/" + self.section

        @router.get(at)
        async def listed(request: Request, network_id: str, call: Calls) -> HTMLResponse:
            return await self.list_page(request, call, network_id)

        @router.post(at, response_model=None)
        async def added(request: Request, network_id: str, call: Calls, form: Posted) -> Response:
            return await self.add(request, call, network_id, form)

        @router.post(at + "/{entry_id}/entfernen", response_model=None)
        async def removed(
            request: Request, network_id: str, entry_id: str, call: Calls, form: Posted
        ) -> Response:
            return await self.remove(request, call, network_id, entry_id, form)

        return router

    def current(self, network: Mapping[str, Any] | None) -> list[Entry]:
        """Who belongs now (those removed are kept by the registry, not shown here)."""
        entries = (network or {}).get(self.part) or []
        return [e for e in entries if e.get("removed_on") is None and not e.get("removal_reason")]

    def one(self, network: Mapping[str, Any] | None, entry_id: str) -> Entry | None:
        return next((e for e in (network or {}).get(self.part) or [] if e["id"] == entry_id), None)

    async def list_page(
        self,
        request: Request,
        call: Call,
        network_id: str,
        *,
        form: Form | None = None,
        problems: Problems | None = None,
        confirm: bool = False,
    ) -> HTMLResponse:
        network = await call.registry(f"/networks/{network_id}")
        if not network.ok:
            return refused(request, call.person, network)
        return form_page(
            request,
            self.list_template,
            call.person,
            form=dict(form or {}),
            problems=problems,
            network=network.body,
            confirm=confirm,
            **self.listed(self.current(network.body)),
            **self.form_values(form or {}),
        )

    async def add(self, request: Request, call: Call, network_id: str, form: Form) -> Response:
        checked = self.check(form)
        if checked:
            return await self.list_page(request, call, network_id, form=form, problems=checked)
        if form.get("confirmed") != "yes":  # the welcome mail goes out: ask first
            return await self.list_page(request, call, network_id, form=form, confirm=True)
        answer = await call.change(
            call.apis.registry, "POST", f"/networks/{network_id}/{self.resource}", self.body(form)
        )
        if not answer.ok:
            problems = self.problems(answer.status, answer.body, self.fields)
            return await self.list_page(request, call, network_id, form=form, problems=problems)
        call.person.notice = self.added.format(name=answer.body["person"]["name"])
        return see_other(self.path(network_id))

    async def remove(
        self, request: Request, call: Call, network_id: str, entry_id: str, form: Form
    ) -> Response:
        if form.get("confirmed") != "yes":  # the person is told: ask the date and reason first
            network = await call.registry(f"/networks/{network_id}")
            if not network.ok:
                return refused(request, call.person, network)
            if self.one(network.body, entry_id) is None:
                return refused(request, call.person, Answer(404, None, None))
            return self._removal_page(request, call, network, entry_id, form, Problems())
        answer = await call.change(
            call.apis.registry,
            "POST",
            f"/networks/{network_id}/{self.resource}/{entry_id}/removal",
            self.removal_body(form),
            version=version_read(form),
        )
        if not answer.ok:
            network = await call.registry(f"/networks/{network_id}")
            problems = self.problems(answer.status, answer.body, self.removal_fields)
            return self._removal_page(
                request, call, network, entry_id, form, problems, status_code=answer.status
            )
        call.person.notice = self.removed.format(name=answer.body["person"]["name"])
        return see_other(self.path(network_id))

    def _removal_page(
        self,
        request: Request,
        call: Call,
        network: Answer,
        entry_id: str,
        form: Form,
        problems: Problems,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        values = {self.entry_name: self.one(network.body, entry_id)}
        return page(
            request,
            self.removal_template,
            call.person,
            status_code=status_code,
            network=network.body,
            form=dict(form),
            problems=problems,
            **values,
        )
