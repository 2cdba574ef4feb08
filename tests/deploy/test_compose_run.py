"""docker-compose.yml for real: built here, started with `docker compose up --wait`, and used from
outside the containers through the published ports only, as an operator and the staff would.

The default deployment: a committee member added → the welcome mail in Mailpit; a conference →
the invitation with its calendar and a response link on the public URL that works from this
machine; a colleague given an account in Keycloak's admin API signs in to the portal in Chromium
and sees the new member. Then the cluster (docker-compose.scale.yml): 2,000 staff members
assigned while one Kafka broker is killed and brought back, and every one of them welcomed
exactly once. Every run
ends with `docker compose down -v`.

No image registry is reachable here, so the images are the stand-ins `deploy/docker/engine.sh`
builds from pinned sources (the compose file's variables name them); the engine is started, and
installed, when none runs. One command: `./dev test-compose` (CI runs it within `./dev test`).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import statistics
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from playwright.async_api import async_playwright

from tests.conferences.browser import chromium_binary
from tests.notifications.integration.support import Mailpit
from tests.support.services import free_port

pytestmark = [pytest.mark.integration, pytest.mark.compose]

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / "deploy" / "docker" / "engine.sh"
BERLIN = ZoneInfo("Europe/Berlin")
PUBLISHED = (
    "REGISTRY_PORT",
    "CONFERENCES_PORT",
    "NOTIFICATIONS_PORT",
    "PORTAL_PORT",
    "MAILPIT_UI_PORT",
)


def run(args: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def local_images() -> dict[str, str]:
    """The engine (started, installed if need be), the compose plugin and the images; what
    engine.sh says it did is printed with the test's output."""
    for step in ("start", "compose", "images"):
        done = run(["bash", str(ENGINE), step], timeout=3600)
        print(done.stdout[-2000:], done.stderr[-2000:])
    listed = run(["bash", str(ENGINE), "image-env"], timeout=60).stdout
    images = dict(line.split("=", 1) for line in listed.split() if "=" in line)
    assert {"KAFKA_IMAGE", "MONGO_IMAGE", "MAILPIT_IMAGE", "KEYCLOAK_IMAGE"} <= set(images)
    return images


@dataclass
class Deployment:
    """One compose project: its .env, its files, and clients for what it publishes."""

    project: str
    files: list[str]
    env: dict[str, str]
    work: Path
    figures: dict[str, Any] = field(default_factory=dict)
    _token: tuple[str, float] | None = None

    @property
    def env_file(self) -> Path:
        return self.work / ".env"

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        files = [part for name in self.files for part in ("-f", name)]
        command = ["docker", "compose", "-p", self.project, "--env-file", str(self.env_file)]
        return run([*command, *files, *args], timeout=timeout)

    def url(self, port_variable: str) -> str:
        return f"http://localhost:{self.env[port_variable]}"

    @property
    def mailpit(self) -> Mailpit:
        return Mailpit(self.url("MAILPIT_UI_PORT"))

    async def fresh_token(self) -> str:
        """The machine client's token, fetched again a minute before it runs out (the realm's
        access tokens live five minutes; the cluster's stream takes longer)."""
        if self._token is None or time.monotonic() > self._token[1]:
            self._token = (await self.operator_token(), time.monotonic() + 240)
        return self._token[0]

    async def admin_headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        """The Keycloak admin's bearer header, as the admin console signs in."""
        admin = await http.post(
            f"{self.url('KEYCLOAK_PORT')}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": self.env["KEYCLOAK_ADMIN_USER"],
                "password": self.env["KEYCLOAK_ADMIN_PASSWORD"],
            },
        )
        admin.raise_for_status()
        return {"Authorization": f"Bearer {admin.json()['access_token']}"}

    async def operator_token(self) -> str:
        """A token of the rbn-ops machine client, whose secret Keycloak generated on import: read
        through the admin API, as an operator reads it in the admin console."""
        keycloak = self.url("KEYCLOAK_PORT")
        async with httpx.AsyncClient(timeout=30) as http:
            headers = await self.admin_headers(http)
            clients = await http.get(
                f"{keycloak}/admin/realms/rbn/clients",
                params={"clientId": "rbn-ops"},
                headers=headers,
            )
            [client] = clients.json()
            secret = await http.get(
                f"{keycloak}/admin/realms/rbn/clients/{client['id']}/client-secret", headers=headers
            )
            token = await http.post(
                f"{keycloak}/realms/rbn/protocol/openid-connect/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": "rbn-ops",
                    "client_secret": secret.json()["value"],
                },
            )
            token.raise_for_status()
            access: str = token.json()["access_token"]
            return access

    async def staff_account(self, username: str, password: str, group: str) -> None:
        """What an operator does in the admin console for a new colleague and the portal's
        address: allow <PORTAL_PUBLIC_URL>/* at the client rbn-portal, add the person to a
        group with a password."""
        keycloak = f"{self.url('KEYCLOAK_PORT')}/admin/realms/rbn"
        portal = self.env["PORTAL_PUBLIC_URL"] + "/*"
        async with httpx.AsyncClient(timeout=30) as http:
            headers = await self.admin_headers(http)
            [client] = (
                await http.get(
                    f"{keycloak}/clients", params={"clientId": "rbn-portal"}, headers=headers
                )
            ).json()
            client["redirectUris"] = [*client["redirectUris"], portal]
            client["attributes"]["post.logout.redirect.uris"] += f"##{portal}"
            updated = await http.put(
                f"{keycloak}/clients/{client['id']}", json=client, headers=headers
            )
            assert updated.status_code == 204, updated.text
            made = await http.post(
                f"{keycloak}/users",
                headers=headers,
                json={
                    "username": username,
                    "enabled": True,
                    "emailVerified": True,
                    "firstName": "Lena",
                    "lastName": "Brandt",
                    "email": f"{username}@bochum.example",
                    "groups": [f"/{group}"],
                    "credentials": [{"type": "password", "value": password, "temporary": False}],
                },
            )
            assert made.status_code == 201, made.text


def env_example() -> dict[str, str]:
    values = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


@contextmanager
def deployment(
    images: dict[str, str], work: Path, *, cluster: bool = False
) -> Iterator[Deployment]:
    """The compose file as an operator starts it from .env.example with its secrets filled in,
    on free ports of this machine; `docker compose down -v` afterwards, whatever happened."""
    ports = {name: str(free_port()) for name in (*PUBLISHED, "KEYCLOAK_PORT", "INBOUND_SMTP_PORT")}
    keycloak = f"http://localhost:{ports['KEYCLOAK_PORT']}"
    env = env_example() | images | ports
    env |= {
        "CONFERENCES_LINK_SECRET": secrets.token_urlsafe(48),
        "NOTIFICATIONS_UNSUBSCRIBE_SECRET": secrets.token_urlsafe(48),
        "PORTAL_SESSION_SECRET": secrets.token_urlsafe(48),
        "PORTAL_PUBLIC_URL": f"http://localhost:{ports['PORTAL_PORT']}",
        "KEYCLOAK_ADMIN_PASSWORD": secrets.token_urlsafe(24),
        "KEYCLOAK_DB_PASSWORD": secrets.token_urlsafe(24),
        "OIDC_PUBLIC_URL": keycloak,
        "OIDC_ISSUER": f"{keycloak}/realms/rbn",
        "CONFERENCES_PUBLIC_URL": f"http://localhost:{ports['CONFERENCES_PORT']}",
        "NOTIFICATIONS_PUBLIC_URL": f"http://localhost:{ports['NOTIFICATIONS_PORT']}",
        # Production needs the legal notices every public page and mail links.
        "RBN_IMPRINT_URL": "https://bezirk.example/impressum",
        "RBN_PRIVACY_NOTICE_URL": "https://bezirk.example/datenschutz",
        # FerretDB, the stand-in, is no replica set (tests/deploy/compose.local.yml).
        "MONGO_URL": "mongodb://mongo:27017",
        "MONGO_CLUSTER_URL": "mongodb://mongo:27017",
    }
    files = ["docker-compose.yml", "tests/deploy/compose.local.yml"]
    if cluster:
        files += ["docker-compose.scale.yml", "tests/deploy/compose.local-scale.yml"]
        # Fifteen containers on two cores: a log line per event would cost more than the events.
        env["LOG_LEVEL"] = "WARNING"
    project = f"rbn-test-{'cluster' if cluster else 'default'}-{uuid.uuid4().hex[:6]}"
    running = Deployment(project, files, env, work)
    running.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    try:
        started = time.monotonic()
        running.compose("up", "--detach", "--wait", "--no-build", timeout=900)
        running.figures["up --wait (s)"] = round(time.monotonic() - started, 1)
        yield running
    except BaseException:
        logs = subprocess.run(
            ["docker", "compose", "-p", project, "logs", "--no-color", "--tail", "60"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        print(logs.stdout[-20000:])
        raise
    finally:
        subprocess.run(
            [
                "docker",
                "compose",
                "-p",
                project,
                "--env-file",
                str(running.env_file),
                *[part for name in files for part in ("-f", name)],
                "down",
                "--volumes",
                "--remove-orphans",
                "--timeout",
                "20",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except httpx.HTTPError as error:
            last = error
        else:
            if last:
                return last
        await asyncio.sleep(1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def member(email: str, name: str) -> dict[str, Any]:
    return {
        "person": {"name": name, "email": email, "organisation": "Schule am Park"},
        "side": "state",
        "role": "member",
        "term_start": "2027-01-01",
    }


def staff_member(email: str, name: str) -> dict[str, Any]:
    return {
        "person": {"name": name, "email": email},
        "employer": "municipality",
        "start_date": "2027-01-01",
    }


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).replace(second=0, microsecond=0, tzinfo=None).isoformat()


async def seeded(registry: httpx.AsyncClient) -> bool:
    return (await registry.get("/networks/bochum")).status_code == 200


def report(figures: dict[str, Any], capsys: pytest.CaptureFixture[str], title: str) -> None:
    with capsys.disabled():
        print(f"\n{title}: {json.dumps(figures, ensure_ascii=False)}")


@pytest.mark.timeout(1200)  # builds (on a fresh machine) and starts the whole deployment
async def test_the_default_deployment_serves_staff_from_outside(
    local_images: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uid = uuid.uuid4().hex[:8]
    newcomer = f"jana.wolf.{uid}@schule-bochum.example"
    delegate = f"dora.yilmaz.{uid}@gesamtschule-bochum.example"
    with deployment(local_images, tmp_path) as running:
        auth = {"Authorization": f"Bearer {await running.operator_token()}"}
        registry = httpx.AsyncClient(
            base_url=running.url("REGISTRY_PORT"), headers=auth, timeout=30
        )
        conferences = httpx.AsyncClient(
            base_url=running.url("CONFERENCES_PORT"), headers=auth, timeout=30
        )
        async with registry, conferences:
            await eventually(lambda: seeded(registry), "the twelve networks (registry-seed)")
            added = await registry.post(
                "/networks/bochum/committee/members", json=member(newcomer, f"Jana Wolf {uid}")
            )
            assert added.status_code == 201, added.text
            [welcome] = await running.mailpit.wait_for(newcomer, timeout=120)
            assert "Bochum" in welcome["Subject"]

            async def projected() -> bool:
                return (await conferences.get("/networks/bochum")).status_code == 200

            await eventually(projected, "Bochum in the conferences' projection")
            start = datetime.now(BERLIN) + timedelta(days=3)
            scheduled = await conferences.post(
                "/conferences",
                json={
                    "network_id": "bochum",
                    "title": f"Bildungskonferenz {uid}",
                    "kind": "plenary",
                    "starts_at": local(start),
                    "ends_at": local(start + timedelta(hours=3)),
                    "venue": {"name": "Rathaus Bochum", "address": "Willy-Brandt-Platz 2"},
                    "agenda": [{"title": "Begrüßung"}],
                    "delegates": [
                        {"name": f"Dora Yilmaz {uid}", "email": delegate, "group": "school"}
                    ],
                },
            )
            assert scheduled.status_code == 201, scheduled.text

        [invitation] = await running.mailpit.wait_for(delegate, timeout=120)
        calendar = Calendar.from_ical(await running.mailpit.calendar(invitation["ID"]))
        assert calendar["METHOD"] == "REQUEST"
        text = (await running.mailpit.message(invitation["ID"]))["Text"]
        public = running.env["CONFERENCES_PUBLIC_URL"]
        links = [link for link in re.findall(r"https?://\S+", text) if link.startswith(public)]
        assert links, f"no response link on {public} in:\n{text}"
        async with httpx.AsyncClient(timeout=30) as outside:
            page = await outside.get(links[0])
        assert page.status_code == 200, page.text
        assert f"Bildungskonferenz {uid}" in page.text

        # A colleague of Bochum's office signs in to the portal at Keycloak's public address.
        password = secrets.token_urlsafe(16)
        await running.staff_account(f"lena.brandt.{uid}", password, "office-bochum")
        portal = running.env["PORTAL_PUBLIC_URL"]
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium_binary(), args=["--no-sandbox"]
            )
            try:
                staff = await browser.new_page()
                await staff.goto(portal + "/")
                await staff.get_by_role("link", name="Anmelden").click()
                assert staff.url.startswith(running.env["OIDC_PUBLIC_URL"]), staff.url
                await staff.fill("#username", f"lena.brandt.{uid}")
                await staff.fill("#password", password)
                await staff.click("#kc-login")
                await staff.wait_for_url(portal + "/netzwerke/bochum")
                await staff.goto(portal + "/netzwerke/bochum/lenkungskreis")
                assert f"Jana Wolf {uid}" in await staff.content()
            finally:
                await browser.close()
        report(running.figures, capsys, "compose default deployment")


CHANGES = 2000


@pytest.mark.timeout(1800)
async def test_the_cluster_loses_nothing_and_repeats_nothing_while_a_broker_dies(
    local_images: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uid = uuid.uuid4().hex[:8]
    domain = f"cluster-{uid}.example"
    with deployment(local_images, tmp_path, cluster=True) as running:
        described = running.compose(
            "exec",
            "-T",
            "kafka",
            "/opt/kafka/bin/kafka-topics.sh",
            "--bootstrap-server",
            "localhost:9092",
            "--describe",
            "--topic",
            "rbn.registry.events",
        ).stdout
        assert "ReplicationFactor: 3" in described, described
        assert "min.insync.replicas=2" in described, described
        assert "unclean.leader.election.enable=false" in described, described

        networks: list[str] = []
        async with httpx.AsyncClient(base_url=running.url("REGISTRY_PORT"), timeout=60) as registry:
            registry.headers["Authorization"] = f"Bearer {await running.fresh_token()}"
            await eventually(lambda: seeded(registry), "the twelve networks (registry-seed)")
            page = (await registry.get("/networks", params={"limit": 100})).json()
            networks = [n["id"] for n in page["items"]]
            assert len(networks) == 12

            accepted: list[str] = []
            refused: Counter[int] = Counter()
            gate = asyncio.Semaphore(8)
            broker: list[str] = []
            latencies: list[float] = []

            async def add(n: int) -> None:
                email = f"person.{n}@{domain}"
                async with gate:
                    if n == CHANGES // 3:
                        await asyncio.to_thread(running.compose, "kill", "kafka-2")
                        broker.append(f"killed after {len(accepted)} changes")
                    if n == 2 * CHANGES // 3:
                        await asyncio.to_thread(running.compose, "start", "kafka-2")
                        broker.append(f"back after {len(accepted)} changes")
                    # A staff member assigned: one event, one welcome mail to them.
                    sent = time.monotonic()
                    added = await registry.post(
                        f"/networks/{networks[n % 12]}/office/staff",
                        json=staff_member(email, f"Person {n}"),
                        headers={"Authorization": f"Bearer {await running.fresh_token()}"},
                    )
                    latencies.append(time.monotonic() - sent)
                if added.status_code == 201:
                    accepted.append(email)
                else:
                    refused[added.status_code] += 1

            started = time.monotonic()
            await asyncio.gather(*(add(n) for n in range(CHANGES)))
            api_seconds = time.monotonic() - started

        assert not refused, f"changes refused, by status: {dict(refused)}"

        async def mailed() -> list[str]:
            found = await recipients(running.mailpit, domain)
            return found if len(found) >= CHANGES else []

        try:
            await eventually(mailed, f"{CHANGES} welcome mails", timeout=600)
        finally:
            delivered = Counter(await recipients(running.mailpit, domain))
            running.figures |= {
                "changes accepted": len(accepted),
                "broker kafka-2": broker,
                "API seconds": round(api_seconds, 1),
                "changes/s through the API": round(len(accepted) / api_seconds, 1),
                "API seconds per change, p50 / p95 / max": [
                    round(statistics.quantiles(latencies, n=20)[i], 2) for i in (9, 18)
                ]
                + [round(max(latencies), 2)],
                "mails delivered": sum(delivered.values()),
                "duplicates": sum(count - 1 for count in delivered.values()),
                "lost": len(set(accepted) - set(delivered)),
                "seconds to the last mail": round(time.monotonic() - started, 1),
            }
            report(running.figures, capsys, "compose cluster, one broker killed and back")
        assert running.figures["lost"] == 0
        assert running.figures["duplicates"] == 0
        assert len(broker) == 2


async def recipients(mailpit: Mailpit, domain: str) -> list[str]:
    """Every recipient at `domain` of every message Mailpit holds, once per message."""
    found: list[str] = []
    read = 0
    async with httpx.AsyncClient(timeout=60) as http:
        while True:
            page = await http.get(
                f"{mailpit.api}/search",
                params={"query": f"to:{domain}", "start": str(read), "limit": "1000"},
            )
            page.raise_for_status()
            messages = page.json()["messages"]
            if not messages:
                return found
            read += len(messages)
            found += [
                to["Address"].lower()
                for message in messages
                for to in message["To"] or []
                if to["Address"].lower().endswith("@" + domain)
            ]
