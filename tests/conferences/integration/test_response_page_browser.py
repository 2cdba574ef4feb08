"""The personal response page in a real headless Chromium, the size of a phone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conferences.browser import Browser
from tests.conferences.support import (
    ConferencesService,
    RegistryFeed,
    berlin,
    eventually,
    future,
)

pytestmark = pytest.mark.integration


async def test_invitee_answers_on_a_phone_and_can_change_the_answer(
    service: ConferencesService, feed: RegistryFeed, tmp_path: Path
) -> None:
    await feed.network("hamm", fields={"f1": "adopted"})
    start = future(days=30)
    async with service.client() as http:

        async def known() -> bool:
            # Fields of action are the last events feed.network() sends.
            response = await http.get("/networks/hamm")
            return response.status_code == 200 and response.json()["fields_of_action"] != {}

        await eventually(known)
        created = await http.post(
            "/conferences",
            json={
                "network_id": "hamm",
                "title": "Regionale Bildungskonferenz Hamm 2027",
                "starts_at": berlin(start),
                "ends_at": berlin(start.replace(hour=17)),
                "venue": {"name": "Kurhaus Bad Hamm", "address": "Ostenallee 87, 59071 Hamm"},
                "agenda": [
                    {"title": "Begrüßung durch die Bildungsdezernentin"},
                    {"title": "Übergang Schule–Beruf", "field_of_action_id": "f1"},
                ],
                "capacity": 1,
                "delegates": [
                    {"name": "Dora Yilmaz", "email": "dora@schule.example.org", "group": "school"},
                    {"name": "Emil Hoff", "email": "emil@schule.example.org", "group": "school"},
                ],
            },
        )
        assert created.status_code == 201, created.text
        conference = created.json()
        links = {i["name"]: i["response_url"] for i in conference["invitations"]}

    def in_browser() -> dict[str, object]:
        seen: dict[str, object] = {}
        with Browser() as browser:
            page = browser.phone_page()
            page.goto(links["Dora Yilmaz"])
            seen["title"] = page.text("h1")
            seen["when"] = page.text("#when")
            seen["buttons"] = page.evaluate(
                "[...document.querySelectorAll('button')].map(b => b.innerText)"
            )
            seen["before"] = page.evaluate(
                "document.querySelector('#current-answer').dataset.response"
            )
            seen["fits"] = page.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth && "
                "[...document.querySelectorAll('button')].every(b => "
                "b.getBoundingClientRect().right <= window.innerWidth)"
            )
            page.evaluate("document.querySelector('button[value=accepted]').click()")
            page.wait_for("document.querySelector('#saved') !== null")
            seen["after_accept"] = page.text("#current-answer")
            page.screenshot(tmp_path / "accepted.png")

            page.goto(links["Emil Hoff"])
            page.evaluate("document.querySelector('button[value=accepted]').click()")
            page.wait_for("document.querySelector('#saved') !== null")
            seen["emil_waiting"] = page.text("#current-answer")

            page.goto(links["Dora Yilmaz"])
            page.evaluate("document.querySelector('button[value=declined]').click()")
            page.wait_for("document.querySelector('#saved') !== null")
            seen["after_change"] = page.evaluate(
                "document.querySelector('#current-answer').dataset.response"
            )

            page.goto(links["Dora Yilmaz"][:-4] + "xxxx")
            seen["tampered"] = page.text("h1")
        return seen

    seen = await asyncio.to_thread(in_browser)

    assert seen["title"] == "Regionale Bildungskonferenz Hamm 2027"
    assert "Uhr" in str(seen["when"])
    assert str(seen["when"]).split(",")[0] in {
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
    }
    assert seen["buttons"] == ["Zusage", "Absage", "Unter Vorbehalt"]
    assert seen["before"] == "pending"
    assert seen["fits"] is True, "the page fits a phone screen without sideways scrolling"
    assert "Zusage" in str(seen["after_accept"])
    assert "Warteliste (Platz 1)" in str(seen["emil_waiting"])
    assert seen["after_change"] == "declined"
    assert seen["tampered"] == "Dieser Link ist ungültig oder abgelaufen"

    async with service.client() as http:
        body = (await http.get(f"/conferences/{conference['id']}")).json()
    answers = {i["name"]: (i["response"], i["waitlisted"]) for i in body["invitations"]}
    assert answers["Dora Yilmaz"] == ("declined", False)
    assert answers["Emil Hoff"] == ("accepted", False), "promoted when Dora declined"
