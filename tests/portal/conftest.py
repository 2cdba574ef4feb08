"""The staff portal in a real browser: the three services and the portal as processes, the real
Keycloak's sign-in page, Kafka, FerretDB and Mailpit; Debian's Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.conferences.browser import chromium_binary
from tests.e2e.conftest import System, started_on_shared_mailpit
from tests.support.infra import REPO, Infra
from tests.support.keycloak import DemoUser, Keycloak, demo_users, keycloak
from tests.support.services import ServiceProcess

__all__ = ["keycloak"]  # the session fixture, for the tests in this folder


@dataclass
class Portal:
    system: System
    process: ServiceProcess

    @property
    def url(self) -> str:
        return self.process.url


@contextlib.asynccontextmanager
async def portal_in_front(system: System, logs: Path) -> AsyncIterator[Portal]:
    """The portal as a process on the system's three APIs; stopped afterwards."""
    process = ServiceProcess(
        "portal",
        {},
        logs,
        REGISTRY_URL=system.registry.url,
        CONFERENCES_URL=system.conferences.url,
        NOTIFICATIONS_URL=system.notifications.url,
    )
    process.settings["PUBLIC_URL"] = process.url
    process.start()
    try:
        yield Portal(system, process)
    finally:
        process.stop()


@pytest.fixture(scope="module")
async def portal(
    infra: Infra, keycloak: Keycloak, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Portal]:
    """The system, seeded, accepting the local Keycloak's tokens, and the portal in front."""
    logs = tmp_path_factory.mktemp("portal-system")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RBN_OIDC_ISSUER", keycloak.issuer)  # the processes inherit it
        async with (
            started_on_shared_mailpit(infra, logs) as system,
            portal_in_front(system, logs) as portal,
        ):
            yield portal


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_binary(), args=["--no-sandbox", "--lang=de-DE"]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    # The portal's CSP allows no script at all; axe-core is injected past it (the header itself
    # is asserted in test_browser_flow.py).
    made = await browser.new_context(
        locale="de-DE", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    yield made
    await made.close()


@cache
def axe_script() -> Path:
    """axe-core from the npm registry, pinned (deploy/local/axe.sh fetches it once)."""
    found = subprocess.run(
        ["bash", str(REPO / "deploy" / "local" / "axe.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip().splitlines()[-1])


@dataclass
class Accessibility:
    """axe-core run on each page as it is shown: WCAG 2.1 A and AA rules, which BITV 2.0 asks
    of public bodies; every serious or critical violation is kept with the page it was on."""

    checked: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    async def check(self, page: Page) -> None:
        await page.add_script_tag(path=str(axe_script()))
        result = await page.evaluate(
            """async () => await axe.run(document, {runOnly: {type: 'tag',
               values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
        )
        self.checked.append(page.url)
        for violation in result["violations"]:
            if violation["impact"] in ("serious", "critical"):
                targets = [node["target"] for node in violation["nodes"]][:3]
                self.violations.append(
                    f"{page.url}: {violation['id']} ({violation['impact']}): "
                    f"{violation['help']} at {json.dumps(targets)}"
                )


async def sign_in(page: Page, portal: Portal, role: str) -> None:
    """Through the portal's start page and the real Keycloak sign-in page, as staff do."""
    user: DemoUser = demo_users()[role]
    await page.goto(portal.url + "/")
    await page.get_by_role("link", name="Anmelden").click()
    await page.fill("#username", user.username)
    await page.fill("#password", user.password)
    await page.click("#kc-login")
    await page.wait_for_url(portal.url + "/**")
