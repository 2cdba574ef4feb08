"""What every page of the portal works with: who is signed in, the APIs on their behalf, the
checked form, and the template. Each area's pages are a module beside this one.

Pages are thin: who is signed in → the APIs with their token → a template. Every page works
without JavaScript: links and plain forms. Every form carries the session's CSRF token (checked
on each POST) and, for a change of something that exists, the version it was read at. Anything
that mails people asks first: the form comes back as a confirmation saying who gets which mail,
and only its "Ja" button changes something.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from portal.adapters.apis import Answer, Api, Apis
from portal.adapters.sign_in import SignedIn, SignIn
from portal.domain import forms, german


class NotSignedIn(Exception):
    """A page for signed-in staff was asked for without a sign-in."""


class CsrfRefused(Exception):
    """A form came without the session's CSRF token."""


@dataclass(frozen=True)
class Portal:
    """What the pages work with (bootstrap builds it)."""

    apis: Apis
    sign_in: SignIn
    templates: Jinja2Templates


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


async def portal_of(request: Request) -> Portal:
    # A coroutine, as every dependency: FastAPI would run a plain function in a worker thread.
    return _portal(request)


PortalDep = Annotated[Portal, Depends(portal_of)]


async def person_of(request: Request, portal: PortalDep) -> SignedIn:
    signed_in = portal.sign_in.current(request)
    if signed_in is None:
        raise NotSignedIn
    return signed_in


Person = Annotated[SignedIn, Depends(person_of)]


@dataclass
class Call:
    """One page's view of the APIs, on behalf of the person signed in."""

    portal: Portal
    person: SignedIn

    async def token(self) -> str:
        return await self.portal.sign_in.access_token(self.person)

    async def registry(self, path: str, **params: Any) -> Answer:
        return await self.portal.apis.registry.get(path, await self.token(), params or None)

    async def conferences(self, path: str, **params: Any) -> Answer:
        return await self.portal.apis.conferences.get(path, await self.token(), params or None)

    async def notifications(self, path: str, **params: Any) -> Answer:
        return await self.portal.apis.notifications.get(path, await self.token(), params or None)

    @property
    def apis(self) -> Apis:
        return self.portal.apis

    async def change(
        self, api: Api, method: str, path: str, body: Any = None, *, version: int | None = None
    ) -> Answer:
        """A change through `api`; `version` is the one the form was read at."""
        return await api.send(method, path, await self.token(), body, version=version)


async def call_of(portal: PortalDep, person: Person) -> Call:
    return Call(portal, person)


Calls = Annotated[Call, Depends(call_of)]


async def form_of(request: Request, person: Person) -> dict[str, str]:
    """The posted form, after its CSRF token was checked against the session's."""
    async with request.form() as posted:
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
    if not secrets.compare_digest(form.get("csrf", ""), person.csrf):
        raise CsrfRefused
    return form


Posted = Annotated[dict[str, str], Depends(form_of)]


def page(
    request: Request,
    template: str,
    person: SignedIn | None,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    portal = _portal(request)
    notice, person_notice = None, person
    if person_notice is not None:  # what the last change did, shown once
        notice, person_notice.notice = person_notice.notice, None
    return portal.templates.TemplateResponse(
        request,
        template,
        {"person": person, "german": german, "notice": notice, **values},
        status_code=status_code,
    )


def form_page(
    request: Request,
    template: str,
    person: SignedIn,
    *,
    form: dict[str, str],
    problems: forms.Problems | None,
    **values: Any,
) -> HTMLResponse:
    """A page with a form, its `problems` beside the fields: a 422 when there are some."""
    return page(
        request,
        template,
        person,
        status_code=422 if problems else 200,
        form=form,
        problems=problems or forms.Problems(),
        **values,
    )


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def refused(request: Request, person: SignedIn, answer: Answer) -> HTMLResponse:
    """A page the APIs did not give: not found, or not for this person."""
    message = forms.general_message(answer.status, answer.body or {})
    status = answer.status if answer.status in (403, 404) else 400
    return page(request, "refused.html", person, status_code=status, message=message)
