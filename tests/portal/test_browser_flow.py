"""An office's way through the portal in a real browser, against the real servers.

Bochum's office signs in on Keycloak's own page, adds a member to the Lenkungskreis (a wrong
address first: the message stands beside the field and nothing is stored), creates a draft
conference with one place, previews the invitation, publishes it after the confirmation; the new
member answers through the link in the Mailpit mail; the office sees the answer, records a
delegate's answer given by phone, who goes on the waiting list, and downloads the lists (CSV
for Excel, the PDF sign-in sheet).
Dortmund's office sees none of Bochum's people; a form without the session's CSRF token
changes nothing; signing out ends the session.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect
from pypdf import PdfReader

from tests.auth.conftest import bearer
from tests.conferences.support import future
from tests.e2e.conftest import wait_until
from tests.portal.conftest import Accessibility, Portal, sign_in
from tests.support.keycloak import Keycloak, demo_users

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

UID = uuid.uuid4().hex[:8]
NAME = f"Dr. Petra Neumann {UID}"
EMAIL = f"petra.neumann.{UID}@gymnasium-bochum.example"
TITLE = f"Bildungskonferenz Übergänge {UID}"
COLLEAGUE = f"emil.hoffmann.{UID}@jugendamt-bochum.example"


async def committee_names(portal: Portal, keycloak: Keycloak) -> list[str]:
    token = keycloak.user_token(demo_users()["district"])
    async with portal.system.registry.client() as registry:
        listed = await registry.get(
            "/networks/bochum/committee/members", headers=bearer(token), params={"limit": 100}
        )
    assert listed.status_code == 200, listed.text
    return [m["person"]["name"] for m in listed.json()["items"]]


async def add_member(page: Page, email: str) -> None:
    await page.fill("#person-name", NAME)
    await page.fill("#person-email", email)
    await page.fill("#person-function", "Schulleiterin")
    await page.select_option("#side", "municipality")
    await page.select_option("#role", "member")
    await page.fill("#term_start", future(days=1).date().isoformat())
    await page.get_by_role("button", name="Weiter").click()


async def test_an_office_plans_a_conference_and_sees_the_answers(
    portal: Portal, keycloak: Keycloak, context: BrowserContext
) -> None:
    page = await context.new_page()
    axe = Accessibility()
    await sign_in(page, portal, "office-bochum")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Regionales Bildungsnetzwerk Bochum"
    )
    assert page.url.endswith("/netzwerke/bochum")
    await axe.check(page)

    # A wrong address: asked first, then the registry's refusal beside the field, nothing kept.
    await page.get_by_role("navigation").get_by_role("link", name="Lenkungskreis").click()
    await add_member(page, "petra.neumann-at-gymnasium")
    await page.get_by_role("button", name=re.compile("Ja, aufnehmen")).click()
    await expect(page.locator("#person-email-fehler")).to_contain_text("gültige E-Mail-Adresse")
    await expect(page.locator("#person-email")).to_have_attribute("aria-invalid", "true")
    await axe.check(page)
    assert NAME not in await committee_names(portal, keycloak)

    # The right one: the confirmation names the mail, the member is added and welcomed.
    await page.fill("#person-email", EMAIL)
    await page.get_by_role("button", name="Weiter").click()
    await expect(page.locator(".confirm")).to_contain_text(EMAIL)
    await expect(page.locator(".confirm")).to_contain_text("Begrüßungsmail")
    await axe.check(page)
    await page.get_by_role("button", name=re.compile("Ja, aufnehmen")).click()
    await expect(page.locator(".notice")).to_contain_text(NAME)
    await axe.check(page)
    await expect(page.get_by_role("row", name=re.compile(re.escape(EMAIL)))).to_be_visible()
    assert NAME in await committee_names(portal, keycloak)
    await portal.system.mailpit.wait_for(EMAIL)

    # The office's other pages: its staff, and a field of action proposed (that mails no one).
    await page.get_by_role("navigation").get_by_role("link", name="Bildungsbüro").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Bildungsbüro")
    await axe.check(page)
    await page.get_by_role("navigation").get_by_role("link", name="Handlungsfelder").click()
    await page.fill("#title", f"Übergang Schule – Beruf {UID}")
    await page.fill("#starting_situation", "Viele Jugendliche verlassen die Schule ohne Anschluss.")
    await page.fill("#development_needs", "Eine gemeinsame Übersicht der Angebote.")
    await page.get_by_role("button", name="Vorschlagen").click()
    proposed = page.locator(".card", has_text=f"Übergang Schule – Beruf {UID}").first
    await expect(proposed).to_contain_text("vorgeschlagen")
    await axe.check(page)

    # A draft with one place: nothing is sent yet.
    day = future(days=45).date()
    await page.get_by_role("navigation").get_by_role("link", name="Konferenzen").click()
    await axe.check(page)
    await page.fill("#title", TITLE)
    await page.fill("#day", day.isoformat())
    await page.fill("#start", "14:00")
    await page.fill("#end", "17:00")
    await page.fill("#venue-name", "Rathaus Bochum, Ratssaal")
    await page.fill("#venue-address", "Willy-Brandt-Platz 2, 44777 Bochum")
    await page.fill("#capacity", "1")
    await page.get_by_role("button", name="Entwurf anlegen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect(page.locator(".lead")).to_contain_text("Entwurf")
    await axe.check(page)
    conference_id = page.url.rsplit("/", 1)[-1]

    # The preview shows the invitation as it will arrive.
    await page.get_by_role("link", name=re.compile("Einladung an .* ansehen")).click()
    await expect(page.locator(".facts")).to_contain_text("[Bildungsnetzwerk Bochum] Einladung:")
    mail = page.frame_locator("iframe.mail")
    await expect(mail.get_by_role("heading", level=1)).to_contain_text(TITLE)
    await axe.check(page)
    await page.get_by_role("link", name="Zurück zur Konferenz").click()

    # Publishing asks first, then the invitations go out.
    await page.get_by_role("button", name=re.compile("Veröffentlichen")).click()
    await expect(page.locator(".confirm")).to_contain_text("erhalten ihre Einladung")
    await axe.check(page)
    await page.get_by_role("button", name="Ja, Einladungen versenden").click()
    await expect(page.locator(".lead")).to_contain_text("Einladungen versandt")

    # The new member answers through the link in their invitation.
    invitation = next(
        m
        for m in await portal.system.mailpit.wait_for(EMAIL, count=2)
        if "Einladung" in m["Subject"]
    )
    text = (await portal.system.mailpit.message(invitation["ID"]))["Text"]
    link = next(word for word in text.split() if "/respond/" in word).strip("<>()")
    answer = await context.new_page()
    await answer.goto(link)
    await answer.get_by_role("button", name="Zusage").click()
    await expect(answer.get_by_role("button", name="Zusage")).to_have_attribute(
        "aria-pressed", "true"
    )

    async def answered() -> bool:
        await page.reload()
        row = page.get_by_role("row", name=re.compile(re.escape(EMAIL)))
        return "zugesagt" in (await row.inner_text())

    await wait_until(answered, what="the member's answer on the office's page")

    # A guest invited on the published conference's page (after a confirmation: it mails them)
    # answers by phone, and the office enters it: the one place is taken, so the confirmation
    # says the waiting list.
    guest = page.get_by_role("region", name="Gast einladen")
    await guest.get_by_label("Name").fill(f"Emil Hoffmann {UID}")
    await guest.get_by_label("E-Mail-Adresse").fill(COLLEAGUE)
    await guest.get_by_label("Einrichtung").fill("Jugendamt Bochum")
    await guest.get_by_label("Spricht für").select_option("youth_welfare")
    await guest.get_by_role("button", name="Weiter zur Einladung").click()
    await expect(page.locator(".confirm")).to_contain_text(COLLEAGUE)
    await axe.check(page)
    await page.get_by_role("button", name="Ja, Gast einladen").click()
    await expect(page.locator(".notice, [role=status]").first).to_contain_text("ist eingeladen")
    delegate_row = page.get_by_role("row", name=re.compile(re.escape(COLLEAGUE)))
    await delegate_row.get_by_role("combobox").select_option("accepted")
    await delegate_row.get_by_role("button", name=re.compile("Antwort eintragen")).click()
    await expect(page.locator(".confirm")).to_contain_text("Warteliste")
    await axe.check(page)
    await page.get_by_role("button", name="Ja, Antwort eintragen und Bestätigung senden").click()
    await expect(page.get_by_role("row", name=re.compile(re.escape(COLLEAGUE)))).to_contain_text(
        "Warteliste (Platz 1)"
    )
    await expect(page.locator(".counts")).to_contain_text("Warteliste 1")
    await axe.check(page)

    # The lists to download: for Excel, and the sheet to sign at the door (who comes).
    async with page.expect_download() as csv_download:
        await page.get_by_role("link", name="Teilnehmerliste für Excel (CSV)").click()
    csv_path = await (await csv_download.value).path()
    rows = Path(csv_path).read_bytes()
    assert rows.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the umlauts
    text = rows.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Name;E-Mail;")
    assert any(line.startswith(NAME + ";" + EMAIL) for line in text.splitlines())
    async with page.expect_download() as pdf_download:
        await page.get_by_role("link", name="Unterschriftenliste (PDF)").click()
    sheet = PdfReader(str(await (await pdf_download.value).path()))
    sheet_text = " ".join(" ".join(p.extract_text() for p in sheet.pages).split())  # cells wrap
    assert TITLE in sheet_text
    assert NAME in sheet_text  # accepted: on the sheet
    assert f"Emil Hoffmann {UID}" not in sheet_text  # on the waiting list: not
    assert "Unterschrift" in sheet_text

    # The deliveries: the new member's mails, sent.
    await page.get_by_role("navigation").get_by_role("link", name="Zustellungen").click()
    await expect(page.get_by_role("row", name=re.compile(re.escape(EMAIL))).first).to_contain_text(
        "versandt"
    )
    await axe.check(page)

    # A form without the session's CSRF token is refused and changes nothing.
    forged = await page.request.post(
        f"{portal.url}/netzwerke/bochum/lenkungskreis",
        form={
            "confirmed": "yes",
            "person.name": f"Untergeschoben {UID}",
            "person.email": f"x.{UID}@example.org",
            "side": "state",
            "role": "member",
            "term_start": "2027-01-01",
        },
        max_redirects=0,
    )
    assert forged.status == 403
    assert f"Untergeschoben {UID}" not in await committee_names(portal, keycloak)

    # Signing out ends the session here and at Keycloak.
    await page.get_by_role("button", name="Abmelden").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sie sind abgemeldet")
    await axe.check(page)
    await page.goto(f"{portal.url}/konferenzen/{conference_id}")
    await expect(page.get_by_role("link", name="Anmelden")).to_be_visible()
    await axe.check(page)

    # Another office sees the conference's counts and none of Bochum's people.
    other = await context.browser.new_context(locale="de-DE", bypass_csp=True)  # type: ignore[union-attr]
    try:
        dortmund = await other.new_page()
        await sign_in(dortmund, portal, "office-dortmund")
        assert dortmund.url.endswith("/netzwerke/dortmund")
        for path in (
            f"/konferenzen/{conference_id}",
            "/netzwerke/bochum/lenkungskreis",
            "/netzwerke/bochum/bildungsbuero",
        ):
            await dortmund.goto(portal.url + path)
            content = await dortmund.content()
            assert "sehen nur das Regionale Bildungsbüro" in content
            assert NAME not in content
            assert EMAIL not in content
            await axe.check(dortmund)
        refused = await dortmund.goto(portal.url + "/netzwerke/bochum/zustellungen")
        assert refused is not None
        assert refused.status == 403
        assert EMAIL not in await dortmund.content()
    finally:
        await other.close()

    assert len(axe.checked) >= 17
    assert not axe.violations, "\n".join(axe.violations)


async def test_the_portal_sends_no_one_a_page_without_a_sign_in(portal: Portal) -> None:
    async with httpx.AsyncClient(base_url=portal.url) as anonymous:
        for path in ("/netzwerke", "/netzwerke/bochum/lenkungskreis", "/konferenzen/x"):
            answer = await anonymous.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/"
        start = await anonymous.get("/")
    assert start.status_code == 200
    assert "Anmelden" in start.text
    assert "script-src 'none'" in start.headers["content-security-policy"]
    assert start.headers["x-frame-options"] == "DENY"


async def test_the_district_sends_a_bulletin_every_network_receives(
    portal: Portal, keycloak: Keycloak, context: BrowserContext
) -> None:
    axe = Accessibility()
    page = await context.new_page()
    await sign_in(page, portal, "district")
    assert page.url.endswith("/netzwerke")
    await expect(page.get_by_role("heading", level=2)).to_have_count(12)
    await axe.check(page)

    title = f"Neue Förderrichtlinie {UID}"
    await page.get_by_role("link", name="Rundschreiben an alle Netzwerke").click()
    await expect(page.locator("#author-name")).not_to_have_value("")  # the signed-in person
    await page.fill("#title", title)
    await page.fill("#body", "Liebe Kolleginnen und Kollegen,\n\ndie Richtlinie gilt ab März.")
    await page.get_by_role("button", name="Weiter").click()
    await expect(page.locator(".confirm")).to_contain_text("aller zwölf Netzwerke")
    await axe.check(page)
    await page.get_by_role("button", name="Ja, an alle Netzwerke senden").click()
    await expect(page.locator(".notice")).to_contain_text("alle 12 Netzwerke")
    await expect(page.locator(".bulletin").first).to_contain_text(title)
    await axe.check(page)

    token = keycloak.user_token(demo_users()["district"])
    async with portal.system.registry.client() as registry:
        network = (await registry.get("/networks/dortmund", headers=bearer(token))).json()
    office = network["office"]["email"]

    async def received() -> bool:
        return any(title in m["Subject"] for m in await portal.system.mailpit.to(office))

    await wait_until(received, what=f"the bulletin in Dortmund's office ({office})")

    # An office reads the bulletins and has no form to send one.
    other = await context.browser.new_context(locale="de-DE", bypass_csp=True)  # type: ignore[union-attr]
    try:
        bochum = await other.new_page()
        await sign_in(bochum, portal, "office-bochum")
        await bochum.goto(portal.url + "/bezirk/rundschreiben")
        await expect(bochum.locator(".bulletin").first).to_contain_text(title)
        await expect(bochum.locator("#title")).to_have_count(0)
        await axe.check(bochum)
    finally:
        await other.close()
    assert not axe.violations, "\n".join(axe.violations)
