"""`rbn-portal-pictures`: a screenshot of every page of the staff portal, at desktop and phone
width, into docs/portal/ (linked from the README).

Needs the running system with its demo sign-ins (`./dev up`) and Debian's Chromium; signs in on
Keycloak's page as Bochum's office (and as the district for the list of all networks, the
Rundschreiben and the Wochenbericht), and uses the first conference of Bochum it finds (a draft
if there is one, for the preview).

    uv run --frozen rbn-portal-pictures [--portal http://127.0.0.1:8004]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "docs" / "portal"
WIDTHS = {"desktop": 1280, "phone": 320}
REALM_OVERLAY = REPO / "deploy" / "local" / "keycloak" / "rbn-realm.local.json"


def _password(username: str) -> str:
    overlay = json.loads(REALM_OVERLAY.read_text(encoding="utf-8"))
    user = next(u for u in overlay["users"] if u["username"] == username)
    return str(user["credentials"][0]["value"])


async def _pictures(portal: str) -> list[Path]:
    from playwright.async_api import Page, async_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is missing: apt-get install -y chromium")
    taken: list[Path] = []

    async def sign_in(page: Page, username: str) -> None:
        await page.goto(portal + "/")
        await page.get_by_role("link", name="Anmelden").click()
        await page.fill("#username", username)
        await page.fill("#password", _password(username))
        await page.click("#kc-login")
        await page.wait_for_url(portal + "/**")

    async def shoot(page: Page, name: str) -> None:
        for label, width in WIDTHS.items():
            await page.set_viewport_size({"width": width, "height": 800})
            await page.wait_for_timeout(300)  # the preview's frame paints after load
            path = OUT / f"{name}-{label}.png"
            await page.screenshot(path=str(path), full_page=True)
            taken.append(path)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = await (await browser.new_context(locale="de-DE")).new_page()
        await page.goto(portal + "/")
        await shoot(page, "01-anmelden")
        await sign_in(page, "bezirk.schulte")
        await page.goto(portal + "/netzwerke")
        await shoot(page, "02-alle-netzwerke")
        await page.goto(portal + "/bezirk/rundschreiben")
        await shoot(page, "02-rundschreiben")
        await page.goto(portal + "/bezirk/wochenbericht")
        await shoot(page, "02-wochenbericht")

        page = await (await browser.new_context(locale="de-DE")).new_page()
        await sign_in(page, "bochum.yilmaz")
        for path, name in [
            ("/netzwerke/bochum", "03-uebersicht"),
            ("/netzwerke/bochum/lenkungskreis", "04-lenkungskreis"),
            ("/netzwerke/bochum/bildungsbuero", "05-bildungsbuero"),
            ("/netzwerke/bochum/handlungsfelder", "06-handlungsfelder"),
            ("/netzwerke/bochum/konferenzen", "07-konferenzen"),
            ("/netzwerke/bochum/zustellungen", "10-zustellungen"),
        ]:
            await page.goto(portal + path)
            await shoot(page, name)
        await page.goto(portal + "/netzwerke/bochum/konferenzen")
        listed = page.locator("ul.list li")
        draft = listed.filter(has_text="Entwurf")
        chosen = draft if await draft.count() else listed
        if await chosen.count():
            await chosen.first.get_by_role("link").click()
            await shoot(page, "08-konferenz")
            preview = page.get_by_role("link", name="ansehen")
            if await preview.count():
                await preview.first.click()
                await shoot(page, "09-vorschau")
        await page.goto(portal + "/")
        await page.get_by_role("button", name="Abmelden").click()
        await page.wait_for_url(portal + "/abgemeldet")
        await shoot(page, "11-abgemeldet")
        await browser.close()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portal", default="http://127.0.0.1:8004")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(_pictures(args.portal.rstrip("/"))):
        print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
