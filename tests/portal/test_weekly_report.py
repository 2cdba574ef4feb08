"""The district's Wochenbericht in a real browser, against the real servers.

The district coordination adopts a field of action for Bochum (through the portal, after the
confirmation) and finds it in this week's report, under the section the report mail uses; the
week before has its own page and links back. Bochum's office has no link to the report and is
refused when it opens the address. axe-core checks every page shown.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from playwright.async_api import BrowserContext, expect

from tests.e2e.conftest import wait_until
from tests.portal.conftest import Accessibility, Portal, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

UID = uuid.uuid4().hex[:8]
FIELD = f"Ganztag im Grundschulalter {UID}"


async def test_the_district_reads_what_happened_this_week(
    portal: Portal, context: BrowserContext
) -> None:
    axe = Accessibility()
    page = await context.new_page()
    await sign_in(page, portal, "district")

    await page.goto(portal.url + "/netzwerke/bochum/handlungsfelder")
    await page.fill("#title", FIELD)
    await page.fill("#starting_situation", "Der Rechtsanspruch gilt ab 2026.")
    await page.fill("#development_needs", "Gemeinsame Standards von Schule und Jugendhilfe.")
    await page.get_by_role("button", name="Vorschlagen").click()
    await page.get_by_role(
        "button", name=re.compile(f"Beschluss des Lenkungskreises eintragen.*{FIELD}")
    ).click()
    await page.fill("#adopted_on", date.today().isoformat())
    await page.get_by_role(
        "button", name="Ja, beschließen und den Lenkungskreis benachrichtigen"
    ).click()
    await expect(page.locator(".notice")).to_be_visible()

    await page.get_by_role("link", name="Wochenbericht").click()  # in the district's navigation
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Wochenbericht: Entwicklungen in den Netzwerken"
    )
    await expect(page.locator(".lead")).to_have_text(
        re.compile(r"^Woche vom \d\d\.\d\d\.\d{4} bis \d\d\.\d\d\.\d{4}$")
    )
    adopted = page.locator("section", has=page.get_by_role("heading", name="Neue Handlungsfelder"))

    async def reported() -> bool:  # the event travels registry → Kafka → notifications
        await page.reload()
        return await adopted.get_by_text(FIELD).count() > 0

    await wait_until(reported, what="the adopted field in the Wochenbericht")
    await expect(adopted.get_by_role("heading", level=3)).to_contain_text([f"Bochum: {FIELD}"])
    await expect(page.get_by_role("link", name="nächste Woche")).to_have_count(0)
    await axe.check(page)

    await page.get_by_role("link", name="vorherige Woche").click()
    await expect(page.get_by_text(FIELD)).to_have_count(0)
    await expect(page.get_by_role("link", name="nächste Woche")).to_have_count(1)
    await axe.check(page)
    await page.get_by_role("link", name="nächste Woche").click()
    await expect(page.get_by_text(f"Bochum: {FIELD}")).to_have_count(1)

    await page.goto(portal.url + "/bezirk/wochenbericht?woche=gestern")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Diese Seite können wir Ihnen nicht zeigen"
    )

    other = await context.browser.new_context(locale="de-DE", bypass_csp=True)  # type: ignore[union-attr]
    try:
        bochum = await other.new_page()
        await sign_in(bochum, portal, "office-bochum")
        await expect(bochum.get_by_role("link", name="Wochenbericht")).to_have_count(0)
        answer = await bochum.goto(portal.url + "/bezirk/wochenbericht")
        assert answer is not None
        assert answer.status == 403
        await expect(bochum.get_by_role("heading", level=1)).to_have_text(
            "Diese Seite können wir Ihnen nicht zeigen"
        )
        await expect(bochum.get_by_text(FIELD)).to_have_count(0)
        await axe.check(bochum)
    finally:
        await other.close()
    assert len(axe.checked) == 3
    assert not axe.violations, "\n".join(axe.violations)
