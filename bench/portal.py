"""Benchmark: the staff portal's pages under 10 people signed in at once.

    uv run --frozen python bench/portal.py [--users 10] [--seconds 30] [--portal http://127.0.0.1:8004]

Needs the running system with its demo sign-ins (`./dev up`). Each simulated person signs in
through Keycloak's real page in Chromium (the demo users of Bochum's and Dortmund's offices and of
the district in turn), then requests the pages of their network one after another, without pause,
with their own session cookie, for the given time. Prints each page's p50, p95 and max, and the
pages served per second; a figure, not a pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import time
from collections import defaultdict
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

REPO = Path(__file__).resolve().parents[1]
USERS = [("bochum.yilmaz", "bochum"), ("dortmund.koehler", "dortmund"), ("bezirk.schulte", "hagen")]
PAGES = ["", "/lenkungskreis", "/bildungsbuero", "/handlungsfelder", "/konferenzen"]


def password(username: str) -> str:
    overlay = json.loads(
        (REPO / "deploy/local/keycloak/rbn-realm.local.json").read_text(encoding="utf-8")
    )
    return next(u for u in overlay["users"] if u["username"] == username)["credentials"][0]["value"]


async def signed_in_cookies(portal: str, count: int) -> list[tuple[str, dict[str, str]]]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    found: list[tuple[str, dict[str, str]]] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for i in range(count):
            username, network = USERS[i % len(USERS)]
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(portal + "/anmelden")
            await page.fill("#username", username)
            await page.fill("#password", password(username))
            await page.click("#kc-login")
            await page.wait_for_url(portal + "/**")
            cookies = {c["name"]: c["value"] for c in await context.cookies(portal)}
            found.append((network, cookies))
            await context.close()
        await browser.close()
    return found


async def person(
    portal: str,
    network: str,
    cookies: dict[str, str],
    until: float,
    timings: dict[str, list[float]],
) -> None:
    async with httpx.AsyncClient(base_url=portal, cookies=cookies, timeout=30) as http:
        i = 0
        while time.monotonic() < until:
            path = f"/netzwerke/{network}{PAGES[i % len(PAGES)]}"
            started = time.monotonic()
            answer = await http.get(path)
            elapsed = time.monotonic() - started
            assert answer.status_code == 200, (path, answer.status_code)
            timings[PAGES[i % len(PAGES)] or "/ (Übersicht)"].append(elapsed)
            i += 1


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--portal", default="http://127.0.0.1:8004")
    args = parser.parse_args()
    sessions = await signed_in_cookies(args.portal, args.users)
    timings: dict[str, list[float]] = defaultdict(list)
    until = time.monotonic() + args.seconds
    started = time.monotonic()
    await asyncio.gather(*(person(args.portal, n, c, until, timings) for n, c in sessions))
    took = time.monotonic() - started
    every = [t for ts in timings.values() for t in ts]
    print(
        f"{args.users} people signed in, {args.seconds:.0f} s, "
        f"{len(every)} pages, {len(every) / took:.1f} pages/s"
    )
    print(f"{'page':<20} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, ts in [*sorted(timings.items()), ("all pages", every)]:
        q = statistics.quantiles(ts, n=20)
        print(
            f"{name:<20} {len(ts):>6} {q[9] * 1000:>8.0f} {q[18] * 1000:>8.0f} {max(ts) * 1000:>8.0f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
