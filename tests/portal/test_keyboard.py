"""The main flow with the keyboard alone (WCAG 2.1.1): Tab moves the focus from control to
control in the page's order, Enter follows a link or sends a form, letters choose an option;
no mouse click anywhere, Keycloak's sign-in page included."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.portal.conftest import Portal
from tests.support.keycloak import demo_users

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

UID = uuid.uuid4().hex[:8]


async def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focus is on `selector`; fails if the focus order never gets there."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{limit} presses of Tab never focused {selector} on {page.url}")


async def enter(page: Page) -> None:
    """Press Enter on a link or in a form, and wait for the page it leads to."""
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def type_into(page: Page, selector: str, text: str) -> None:
    await tab_to(page, selector)
    await page.keyboard.type(text)


async def type_date(page: Page, selector: str, year: int, month_and_day: int) -> None:
    """Digits into a date field, as a person types them. The field's order of day and month
    follows the browser's own language (Debian's headless Chromium shows month first even for
    de-DE), so the dates here have day and month alike and read the same either way."""
    await tab_to(page, selector)
    await page.keyboard.type(f"{month_and_day:02}{month_and_day:02}{year}")
    assert await page.input_value(selector) == f"{year}-{month_and_day:02}-{month_and_day:02}"


async def test_an_office_adds_a_member_and_publishes_a_conference_by_keyboard(
    portal: Portal, context: BrowserContext
) -> None:
    page = await context.new_page()
    user = demo_users()["office-bochum"]
    await page.goto(portal.url + "/")
    await tab_to(page, "a.button")  # Anmelden
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#username")
    await type_into(page, "#username", user.username)
    await type_into(page, "#password", user.password)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Regionales Bildungsnetzwerk Bochum"
    )

    # The skip link comes first and lands on the content.
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.matches('a.skip')")

    await tab_to(page, 'nav a[href$="/lenkungskreis"]')
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/lenkungskreis")
    email = f"jonas.becker.{UID}@realschule-bochum.example"
    await type_into(page, "#person-name", f"Jonas Becker {UID}")
    await type_into(page, "#person-email", email)
    await tab_to(page, "#side")
    await page.keyboard.type("Kommune")
    await tab_to(page, "#role")
    await page.keyboard.type("Mitglied")
    await type_date(page, "#term_start", date.today().year, 1)
    await page.keyboard.press("Enter")  # Enter in a field sends its form: to the confirmation
    await expect(page.locator(".confirm")).to_contain_text(email)
    await tab_to(page, ".confirm button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.locator(".notice")).to_contain_text(f"Jonas Becker {UID}")

    await tab_to(page, 'nav a[href$="/konferenzen"]')
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/konferenzen")
    title = f"Tastaturkonferenz {UID}"
    await type_into(page, "#title", title)
    await type_date(page, "#day", date.today().year + 1, 3)  # 3 March: months ahead
    await type_into(page, "#start", "1300")  # after noon: no AM/PM to choose in any language
    await type_into(page, "#end", "1500")
    await type_into(page, "#venue-name", "Rathaus Bochum")
    await type_into(page, "#venue-address", "Willy-Brandt-Platz 2, 44777 Bochum")
    await tab_to(page, "form[action$='/konferenzen'] button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)

    await tab_to(page, "form[action$='/veroeffentlichen'] button[type=submit]")
    await enter(page)
    await tab_to(page, ".confirm button[type=submit]")
    await enter(page)
    await expect(page.locator(".lead")).to_contain_text("Einladungen versandt")
    await portal.system.mailpit.wait_for(email, count=2)  # welcome and invitation
