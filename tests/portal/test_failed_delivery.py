"""A mail the SMTP server really refused, in the browser: Bochum's office finds it first on the
Zustellungen page with the reason in German, corrects the address there (after a confirmation),
and the mail reaches the corrected address once. The three services and the portal as processes,
sending to a real Mailpit that refuses one domain with 550 (as tests/e2e/test_undeliverable.py)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import BrowserContext, expect

from tests.auth.conftest import bearer
from tests.e2e.conftest import started_system
from tests.notifications.integration.support import Mailpit
from tests.portal.conftest import Accessibility, Portal, portal_in_front, sign_in
from tests.support.infra import Infra
from tests.support.keycloak import Keycloak, demo_users
from tests.support.mailpit import strict_mailpit

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

UID = uuid.uuid4().hex[:8]
TYPO = f"g.brandt.{UID}@schule-bochum.example.org"  # the refused domain: .example.org
RIGHT = f"g.brandt.{UID}@schule-bochum.example"
NAME = f"Gisela Brandt {UID}"


@pytest.fixture(scope="module")
async def strict_portal(
    infra: Infra, keycloak: Keycloak, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Portal, Mailpit]]:
    work = tmp_path_factory.mktemp("failed-delivery")
    with (
        pytest.MonkeyPatch.context() as env,
        strict_mailpit(infra, r"\.example$", work) as sink,
    ):
        env.setenv("RBN_OIDC_ISSUER", keycloak.issuer)
        async with (
            started_system(
                infra,
                work,
                smtp_host=sink.smtp_host,
                smtp_port=sink.smtp_port,
                mailpit_api=sink.api,
            ) as system,
            portal_in_front(system, work) as portal,
        ):
            yield portal, Mailpit(sink.api)


async def test_a_refused_mail_is_shown_first_corrected_there_and_sent_once(
    strict_portal: tuple[Portal, Mailpit], keycloak: Keycloak, context: BrowserContext
) -> None:
    portal, mailpit = strict_portal
    axe = Accessibility()
    token = keycloak.user_token(demo_users()["office-bochum"])
    async with portal.system.registry.client() as registry:
        added = await registry.post(
            "/networks/bochum/committee/members",
            headers=bearer(token),
            json={
                "person": {"name": NAME, "email": TYPO, "organisation": "Schulamt Bochum"},
                "side": "state",
                "role": "member",
                "term_start": "2027-01-01",
            },
        )
    assert added.status_code == 201, added.text

    page = await context.new_page()
    await sign_in(page, portal, "office-bochum")
    failed = page.get_by_role("region", name="Nicht zugestellte Mails")
    for _ in range(60):  # the welcome is refused at RCPT TO within a few seconds
        await page.goto(f"{portal.url}/netzwerke/bochum/zustellungen")
        if await failed.get_by_text(TYPO).count():
            break
        await asyncio.sleep(1)
    row = failed.get_by_role("row", name=re.compile(re.escape(TYPO)))
    reason = row.locator("td[data-label=Grund]")
    await expect(reason).to_contain_text("550")  # the server's own answer, beside …
    assert re.search(r"[A-ZÄÖÜ][a-zäöüß]+ .*\.", await reason.inner_text()), "… a German reason"
    await axe.check(page)

    await row.get_by_label(re.compile("Richtige E-Mail-Adresse")).fill(RIGHT)
    await row.get_by_role("button", name=re.compile("Weiter")).click()
    await expect(page.locator(".confirm")).to_contain_text(RIGHT)
    await axe.check(page)
    await page.get_by_role("button", name="Ja, Adresse ändern und Mail noch einmal senden").click()

    [welcome] = await mailpit.wait_for(RIGHT)
    assert "Willkommen" in welcome["Subject"]
    await asyncio.sleep(2)  # time enough for a second copy, were one sent
    assert len(await mailpit.to(RIGHT)) == 1
    assert await mailpit.to(TYPO) == []
    assert axe.violations == [], "\n".join(axe.violations)
