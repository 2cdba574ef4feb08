"""Names from events cannot break a mail's lines; addresses with a display name are refused."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from notifications.domain.recipients import Contact, NetworkDirectory
from notifications.domain.rules import Addressing, plan
from notifications.entrypoints import api
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import MailRenderer, PageRenderer
from notifications.rendering.message import compose
from rbn_shared.auth import TokenTable
from rbn_shared.events.base import Person
from rbn_shared.http import install_problem_handlers
from rbn_tools.mail_examples import Examples

EX = Examples()
STAMP = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
RENDERER = MailRenderer(UnsubscribeLinks("secret", "https://mail.example.org"))
EVIL = "Anna\r\nBcc: evil@evil.example <script>alert(1)</script>"
DIRECTORY = NetworkDirectory("bochum", "Bochum").with_network(
    "Bochum", Contact(EX.office_email, "Regionales Bildungsbüro Bochum"), 1
)


def evil_person(local: str) -> Person:
    return Person.model_construct(name=EVIL, email=EX.email(local))


def payloads() -> list[tuple[str, Any]]:
    """Events whose mails print a person's name from the event."""
    invitee = EX.invitee(1, name=EVIL, local="eve")
    organizer = evil_person("organizer")
    return [
        ("committee-member-added", EX.committee_member_added(name=EVIL, local="eve")),
        ("committee-member-removed", EX.committee_member_removed()),
        ("conference-scheduled", EX.conference_scheduled([invitee], organizer=organizer)),
        ("participant-responded", EX.participant_responded(invitee)),
        (
            "district-bulletin-published",
            EX.district_bulletin_published(["bochum"]).model_copy(
                update={"author": evil_person("author")}
            ),
        ),
    ]


def parse(raw: str) -> EmailMessage:
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize(("event_type", "payload"), payloads(), ids=lambda v: str(v)[:30])
def test_a_name_with_a_line_break_and_markup_stays_on_its_line(
    event_type: str, payload: Any
) -> None:
    removed = payload.model_copy(update={"person": evil_person("eve")})
    payload = removed if event_type == "committee-member-removed" else payload
    mails = plan(event_type, payload, Addressing(DIRECTORY, [DIRECTORY]))
    assert mails
    for planned in mails:
        mail = RENDERER.render(planned.rule, planned.recipient, payload, stamp=STAMP)
        raw = compose(
            mail,
            recipient=planned.recipient,
            sender_email="bildungsnetzwerke@bezreg.example.org",
            sender_name="Regionales Bildungsnetzwerk Bochum",
            reply_to=EX.office_email,
            message_id="<d-1@rbn-arnsberg.nrw.de>",
            date=STAMP,
        )
        message = parse(raw)
        assert message["Bcc"] is None
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert text is not None
        assert html is not None
        lines = text.get_content().splitlines()
        assert not [line for line in lines if line.lstrip().startswith("Bcc:")], mail.text
        shown = [line for line in lines if "Bcc: evil@evil.example" in line]
        assert shown, "the name is shown"
        assert all("Anna Bcc: evil@evil.example" in line for line in shown), shown
        content = html.get_content()
        assert "<script>" not in content
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.authenticator = TokenTable({"district-token": "district"})
    # The refusal comes before any repository is used: none is needed.
    app.state.services = api.ApiServices(
        repositories=None,  # type: ignore[arg-type]
        links=UnsubscribeLinks("secret", "https://mail.example.org"),
        pages=PageRenderer(),
        renderer=MailRenderer(UnsubscribeLinks("secret", "https://mail.example.org")),
        clock=lambda: STAMP,
    )
    app.include_router(api.router)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer district-token"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers
    ) as http:
        yield http


async def test_an_address_with_a_display_name_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    named = "Anna Schmidt <anna@x.de>"
    response = await client.get("/deliveries", params={"recipient": named})
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "query.recipient"
    assert "without a name" in error["reason"]

    for method in ("GET", "PUT"):
        response = await client.request(method, f"/preferences/{named}", json={"reminders": False})
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["field"] == "path.email"
        assert "without a name" in error["reason"]
