"""A published conference changed in a real browser, against the real servers, and a field of
action through its whole life.

A committee member of Bochum and a published conference with them invited are made through the
APIs. Bochum's office signs in on Keycloak's page and moves the conference: an end before its
start is refused beside the field and changes nothing; a new day and time are confirmed first,
then everyone invited gets an update whose calendar entry moves (same UID, higher SEQUENCE, the
new start). A guest is invited after a confirmation and gets the invitation at the new time.
The conference is called off with a reason: the member and the guest get the cancellation with
it. (Concluding needs a conference that has ended: the portal offers the form only then, and a
conference cannot be scheduled in the past; that step is left to tests/e2e/test_flows.py.)
On the Handlungsfelder page the office proposes a field, records the committee's adoption after
the confirmation (the new member is mailed) and closes it.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.async_api import BrowserContext, Page, expect

from portal.domain import german
from tests.auth.conftest import bearer
from tests.conferences.support import berlin, future
from tests.e2e.conftest import wait_until
from tests.portal.conftest import Accessibility, Portal, sign_in
from tests.support.keycloak import Keycloak, demo_users

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BERLIN = ZoneInfo("Europe/Berlin")
UID = uuid.uuid4().hex[:8]
TITLE = f"Bildungskonferenz Ganztag {UID}"
MEMBER = f"jonas.keller.{UID}@realschule-bochum.example"
GUEST_NAME = f"Aylin Demir {UID}"
GUEST = f"aylin.demir.{UID}@gesamtschule-bochum.example"
REASON = f"Der Ratssaal wird renoviert ({UID}). Ein neuer Termin folgt."
FIELD = f"Ganztag in der Grundschule {UID}"
FIELD_MEMBER = f"lena.vogt.{UID}@grundschule-bochum.example"


async def add_committee_member(portal: Portal, keycloak: Keycloak, name: str, email: str) -> None:
    """Through the registry's API as Bochum's office; the welcome mail shows the notifications
    service knows them."""
    token = keycloak.user_token(demo_users()["office-bochum"])
    async with portal.system.registry.client() as registry:
        added = await registry.post(
            "/networks/bochum/committee/members",
            headers=bearer(token),
            json={
                "person": {"name": name, "email": email},
                "side": "municipality",
                "role": "member",
                "term_start": future(days=1).date().isoformat(),
            },
        )
    assert added.status_code == 201, added.text
    await portal.system.mailpit.wait_for(email)


async def conference_of(portal: Portal, keycloak: Keycloak, conference_id: str) -> dict[str, Any]:
    token = keycloak.user_token(demo_users()["office-bochum"])
    async with portal.system.conferences.client() as conferences:
        found = await conferences.get(f"/conferences/{conference_id}", headers=bearer(token))
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def field_of(portal: Portal, keycloak: Keycloak, title: str) -> dict[str, Any]:
    token = keycloak.user_token(demo_users()["district"])
    async with portal.system.registry.client() as registry:
        network = await registry.get("/networks/bochum", headers=bearer(token))
    assert network.status_code == 200, network.text
    field: dict[str, Any] = next(
        f for f in network.json()["fields_of_action"] or [] if f["title"] == title
    )
    return field


async def mail_to(portal: Portal, address: str, subject: str) -> dict[str, Any]:
    """The first mail to `address` whose subject contains `subject`, once it is there."""

    async def arrived() -> dict[str, Any] | None:
        found = await portal.system.mailpit.to(address)
        return next((m for m in found if subject in m["Subject"]), None)

    found: dict[str, Any] = await wait_until(arrived, what=f"{subject!r} to {address}")
    return found


async def calendar_event(portal: Portal, message_id: str) -> tuple[str, Any]:
    """The calendar's METHOD and its one VEVENT."""
    calendar = Calendar.from_ical(await portal.system.mailpit.calendar(message_id))
    [event] = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), event


def local_start(event: Any) -> datetime:
    start: datetime = event["DTSTART"].dt
    return start.astimezone(BERLIN)


def for_field(action: str) -> str:
    """A field's button by its accessible name: the action, then the field's title."""
    return f"{action}: {FIELD}"


async def reschedule(page: Page, day: date, start: str, end: str) -> None:
    moving = page.get_by_role("region", name="Verlegen")
    await moving.locator("#day").fill(day.isoformat())
    await moving.locator("#start").fill(start)
    await moving.locator("#end").fill(end)
    await moving.get_by_role("button", name="Weiter").click()


async def test_an_office_moves_a_conference_invites_a_guest_and_calls_it_off(
    portal: Portal, keycloak: Keycloak, context: BrowserContext
) -> None:
    await add_committee_member(portal, keycloak, f"Jonas Keller {UID}", MEMBER)
    start = future(days=50)
    token = keycloak.user_token(demo_users()["office-bochum"])
    async with portal.system.conferences.client() as conferences:
        scheduled = await conferences.post(
            "/conferences",
            headers=bearer(token),
            json={
                "network_id": "bochum",
                "title": TITLE,
                "starts_at": berlin(start),
                "ends_at": berlin(start + timedelta(hours=3)),
                "venue": {
                    "name": "Rathaus, Ratssaal",
                    "address": "Willy-Brandt-Platz 2, 44777 Bochum",
                },
            },
        )
    assert scheduled.status_code == 201, scheduled.text
    conference_id = scheduled.json()["id"]
    invitation = await mail_to(portal, MEMBER, f"Einladung: {TITLE}")
    method, invited_event = await calendar_event(portal, invitation["ID"])
    assert method == "REQUEST"
    assert local_start(invited_event) == start
    invitees = (await conference_of(portal, keycloak, conference_id))["invitations"]
    assert MEMBER in [i["email"] for i in invitees]
    invited = len(invitees)

    page = await context.new_page()
    axe = Accessibility()
    await sign_in(page, portal, "office-bochum")
    await page.goto(f"{portal.url}/konferenzen/{conference_id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect(page.locator(".lead")).to_contain_text("geplant, Einladungen versandt")
    await expect(page.get_by_role("row", name=re.compile(re.escape(MEMBER)))).to_be_visible()
    await axe.check(page)

    # An end before the start: the message beside the field, no confirmation, nothing moved.
    moved_day = future(days=52).date()
    await reschedule(page, moved_day, "16:00", "15:00")
    await expect(page.locator("#end-fehler")).to_have_text("Das Ende muss nach dem Beginn liegen.")
    await expect(page.locator("#end")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#end")).to_have_value("15:00")  # what was typed stays
    await expect(page.locator(".confirm")).to_have_count(0)
    await axe.check(page)
    unchanged = await conference_of(portal, keycloak, conference_id)
    assert datetime.fromisoformat(unchanged["starts_at_local"]) == start
    assert datetime.fromisoformat(unchanged["ends_at_local"]) == start + timedelta(hours=3)

    # A new day and time: asked first (the new time, the old one, how many are told), then moved.
    await reschedule(page, moved_day, "10:00", "13:00")
    confirm = page.locator(".confirm")
    await expect(confirm.get_by_role("heading")).to_have_text("Konferenz verlegen?")
    await expect(confirm).to_contain_text(
        f"Neuer Termin: {german.long_day(moved_day)}, 10:00 bis 13:00 Uhr"
    )
    await expect(confirm).to_contain_text(f"(bisher {unchanged['when']})")
    await expect(confirm).to_contain_text(f"Alle {invited} Eingeladenen erhalten eine E-Mail")
    await axe.check(page)
    still = await conference_of(portal, keycloak, conference_id)
    assert datetime.fromisoformat(still["starts_at_local"]) == start  # asking changed nothing
    await page.get_by_role("button", name="Ja, verlegen und alle benachrichtigen").click()
    await page.wait_for_url(f"{portal.url}/konferenzen/{conference_id}")
    new_start = datetime.combine(moved_day, time(10), BERLIN)
    moved = await conference_of(portal, keycloak, conference_id)
    assert datetime.fromisoformat(moved["starts_at_local"]) == new_start
    assert datetime.fromisoformat(moved["ends_at_local"]) == new_start + timedelta(hours=3)
    await expect(page.locator(".notice")).to_have_text(
        f"Die Konferenz ist verlegt auf {moved['when']}. Alle Eingeladenen erhalten die "
        "Änderung mit neuem Kalendereintrag per E-Mail."
    )
    await expect(page.locator(".lead")).to_contain_text(moved["when"])
    await expect(page.locator("#day")).to_have_value(moved_day.isoformat())
    await axe.check(page)

    # The member's update: the same calendar entry, one SEQUENCE higher, at the new time.
    update = await mail_to(portal, MEMBER, f"Neuer Termin: {TITLE}")
    method, moved_event = await calendar_event(portal, update["ID"])
    assert method == "REQUEST"
    assert str(moved_event["UID"]) == str(invited_event["UID"])
    assert int(str(moved_event["SEQUENCE"])) > int(str(invited_event["SEQUENCE"]))
    assert local_start(moved_event) == new_start
    text = (await portal.system.mailpit.message(update["ID"]))["Text"]
    assert "findet zu einem anderen Zeitpunkt statt" in text

    # A guest: asked first (it mails them at once), then invited, at the new time.
    guest = page.get_by_role("region", name="Gast einladen")
    await guest.get_by_label("Name").fill(GUEST_NAME)
    await guest.get_by_label("E-Mail-Adresse").fill(GUEST)
    await guest.get_by_label("Einrichtung").fill("Gesamtschule Bochum-Mitte")
    await guest.get_by_label("Spricht für").select_option("school")
    await guest.get_by_role("button", name="Weiter zur Einladung").click()
    await expect(confirm.get_by_role("heading")).to_have_text("Gast einladen?")
    await expect(confirm).to_contain_text(f"{GUEST_NAME} (Gesamtschule Bochum-Mitte)")
    await expect(confirm).to_contain_text(GUEST)
    await axe.check(page)
    asked = await conference_of(portal, keycloak, conference_id)
    assert GUEST not in [i["email"] for i in asked["invitations"]]  # asking invited no one
    await page.get_by_role("button", name="Ja, Gast einladen").click()
    await expect(page.locator(".notice")).to_have_text(
        f"{GUEST_NAME} ist eingeladen; die Einladung ist unterwegs."
    )
    await expect(page.get_by_role("row", name=re.compile(re.escape(GUEST)))).to_contain_text(
        "Gesamtschule Bochum-Mitte"
    )
    await axe.check(page)
    guest_invitation = await mail_to(portal, GUEST, f"Einladung: {TITLE}")
    _, guest_event = await calendar_event(portal, guest_invitation["ID"])
    assert local_start(guest_event) == new_start
    guest_text = (await portal.system.mailpit.message(guest_invitation["ID"]))["Text"]
    assert "/respond/" in guest_text  # the guest's own response link

    # Called off with a reason: asked first (the reason as it will be sent), then cancelled.
    calling_off = page.get_by_role("region", name="Absagen")
    await calling_off.get_by_label("Grund der Absage").fill(REASON)
    await calling_off.get_by_role("button", name="Weiter zur Absage").click()
    await expect(confirm.get_by_role("heading")).to_have_text("Konferenz absagen?")
    await expect(confirm.locator("blockquote")).to_have_text(REASON)
    await expect(confirm).to_contain_text(f"Alle {invited + 1} Eingeladenen erhalten eine Absage")
    await axe.check(page)
    assert (await conference_of(portal, keycloak, conference_id))["status"] == "scheduled"
    await page.get_by_role("button", name="Ja, absagen und alle benachrichtigen").click()
    await expect(page.locator(".notice")).to_have_text(
        "Die Konferenz ist abgesagt. Alle Eingeladenen erhalten die Absage mit dem Grund "
        "per E-Mail; der Termin verschwindet aus ihren Kalendern."
    )
    await expect(page.locator(".lead .status")).to_have_text("abgesagt")
    await expect(page.get_by_role("region", name="Abgesagt")).to_contain_text(REASON)
    # Who had answered what stays on record, as it stood when the conference was called off.
    await expect(page.get_by_role("heading", name="Antworten bis zur Absage")).to_be_visible()
    for gone in ("Verlegen", "Gast einladen", "Absagen"):  # nothing more to change
        await expect(page.get_by_role("region", name=gone, exact=True)).to_have_count(0)
    await axe.check(page)
    cancelled = await conference_of(portal, keycloak, conference_id)
    assert cancelled["status"] == "cancelled"

    # The member and the guest: the cancellation with the reason, the entry taken out.
    for address in (MEMBER, GUEST):
        cancellation = await mail_to(portal, address, f"Abgesagt: {TITLE}")
        text = (await portal.system.mailpit.message(cancellation["ID"]))["Text"]
        assert f"Grund: {REASON}" in text
        method, cancelled_event = await calendar_event(portal, cancellation["ID"])
        assert method == "CANCEL"
        assert str(cancelled_event["UID"]) == str(invited_event["UID"])

    assert len(axe.checked) == 8
    assert not axe.violations, "\n".join(axe.violations)


async def test_an_office_proposes_adopts_and_closes_a_field_of_action(
    portal: Portal, keycloak: Keycloak, context: BrowserContext
) -> None:
    await add_committee_member(portal, keycloak, f"Lena Vogt {UID}", FIELD_MEMBER)
    today = datetime.now(BERLIN).date()
    page = await context.new_page()
    axe = Accessibility()
    await sign_in(page, portal, "office-bochum")
    await page.get_by_role("navigation").get_by_role("link", name="Handlungsfelder").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Handlungsfelder .*Bochum$")
    )
    await axe.check(page)

    # Proposed: mails no one yet.
    await page.fill("#title", FIELD)
    await page.fill("#starting_situation", f"Zu wenige Ganztagsplätze im Bochumer Süden ({UID}).")
    await page.fill("#development_needs", "Ein gemeinsamer Ausbauplan von Schulträger und Trägern.")
    await page.get_by_role("button", name="Vorschlagen").click()
    await expect(page.locator(".notice")).to_contain_text(
        f"Das Handlungsfeld „{FIELD}“ ist vorgeschlagen."
    )
    card = page.locator("article.field-of-action", has_text=FIELD)
    await expect(card.locator(".status")).to_have_text("vorgeschlagen")
    await axe.check(page)
    assert (await field_of(portal, keycloak, FIELD))["status"] == "proposed"

    # The committee's adoption: asked first (the committee and the office are mailed).
    await card.get_by_role(
        "button", name=for_field("Beschluss des Lenkungskreises eintragen"), exact=True
    ).click()
    confirm = page.locator(".confirm")
    await expect(confirm.get_by_role("heading")).to_have_text(f"Beschluss eintragen: „{FIELD}“")
    await expect(confirm).to_contain_text("Alle Mitglieder des Lenkungskreises")
    await axe.check(page)
    asked = await field_of(portal, keycloak, FIELD)
    assert asked["status"] == "proposed"  # asking changed nothing
    adopted_on = today - timedelta(days=2)
    await confirm.get_by_label("Beschlossen am").fill(adopted_on.isoformat())
    await page.get_by_role(
        "button", name="Ja, beschließen und den Lenkungskreis benachrichtigen"
    ).click()
    await expect(page.locator(".notice")).to_have_text(
        f"Das Handlungsfeld „{FIELD}“ ist beschlossen; der Lenkungskreis und das "
        "Bildungsbüro werden per E-Mail informiert."
    )
    await expect(card.locator(".status")).to_have_text("beschlossen")
    await expect(card).to_contain_text(f"Beschlossen am {german.day(adopted_on)}")
    await expect(page.locator(".confirm")).to_have_count(0)
    await axe.check(page)
    adopted = await field_of(portal, keycloak, FIELD)
    assert adopted["status"] == "adopted"
    assert adopted["adopted_on"] == adopted_on.isoformat()

    # The new committee member is told, with the starting situation.
    told = await mail_to(portal, FIELD_MEMBER, f"Neues Handlungsfeld beschlossen: {FIELD}")
    text = (await portal.system.mailpit.message(told["ID"]))["Text"]
    assert f"Zu wenige Ganztagsplätze im Bochumer Süden ({UID})." in text

    # Closed once the work is done.
    await card.get_by_label("Abgeschlossen am").fill(today.isoformat())
    await card.get_by_role(
        "button", name=for_field("Handlungsfeld abschließen"), exact=True
    ).click()
    await expect(page.locator(".notice")).to_have_text(
        f"Das Handlungsfeld „{FIELD}“ ist abgeschlossen."
    )
    await expect(card.locator(".status")).to_have_text("abgeschlossen")
    await expect(card).to_contain_text(f"abgeschlossen am {german.day(today)}")
    await expect(card.get_by_role("button")).to_have_count(0)
    await axe.check(page)
    closed = await field_of(portal, keycloak, FIELD)
    assert closed["status"] == "closed"
    assert closed["closed_on"] == today.isoformat()

    assert len(axe.checked) == 5
    assert not axe.violations, "\n".join(axe.violations)
