"""Render one example of every kind of mail into docs/mails (text, HTML, calendar and a picture),
and the conferences service's response page in each of its states into docs/pages.

    uv run rbn-render-mails [--out docs/mails] [--pages-out docs/pages] [--no-screenshots]

The example events are those the tests use too (rbn_tools.mail_examples); the response pages are
rendered by the route's own code from example conferences (rbn_tools.page_examples).

The pictures show the HTML at a phone's width (412 px), taken with headless Chromium from
Debian's packages (`apt-get install -y chromium`, or deploy/local/chromium.sh).
"""

from __future__ import annotations

import argparse
import html as markup
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from notifications.domain.digest import RecordedResponse, build_digests
from notifications.domain.preferences import TOPIC_LABELS_DE, Topic
from notifications.domain.recipients import Contact, DistrictCoordination, NetworkDirectory
from notifications.domain.report import build_report, development_of
from notifications.domain.rules import (
    CALENDAR_COUNTER_RECEIVED,
    DISTRICT_REPORT_DUE,
    RESPONSE_DIGEST_DUE,
    Addressing,
    plan,
)
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import LegalLinks, MailRenderer, PageRenderer
from notifications.service_layer.inbound import CounterAnswerDue
from rbn_shared.events.base import Contact as EventContact
from rbn_tools import page_examples
from rbn_tools.mail_examples import Examples

STAMP = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
PHONE_WIDTH = 412


class Example(NamedTuple):
    """An event and what else its mail is rendered with; `name` names the files when a template
    has more than one example (the template's name otherwise)."""

    event_type: str
    payload: Any
    extra: dict[str, Any]
    name: str | None = None


def examples() -> list[Example]:
    ex = Examples()
    invitees = [
        ex.invitee(1, name="Sabine Krüger", local="sabine.krueger"),
        ex.invitee(2, name="Thomas Wagner", local="thomas.wagner"),
    ]
    recorded = [
        development_of(t, p, str(n), STAMP, STAMP + timedelta(days=1))
        for n, (t, p) in enumerate(
            [
                ("field-of-action-adopted", ex.field_of_action_adopted()),
                ("field-of-action-closed", ex.field_of_action_closed()),
                ("conference-scheduled", ex.conference_scheduled(invitees)),
                ("conference-concluded", ex.conference_concluded()),
                ("committee-member-added", ex.committee_member_added()),
            ]
        )
    ]
    report = build_report([d for d in recorded if d], STAMP, STAMP + timedelta(days=7))
    report_extra = {"report": report, "report_last_day": STAMP + timedelta(days=6)}
    overview_start = datetime(2027, 1, 31, 6, 30, tzinfo=UTC)  # 07:30 in Berlin, the default
    answered = overview_start + timedelta(hours=2)
    answers = [
        RecordedResponse.of(
            a, event_id=f"r-{n}", conference_version=n, occurred_at=answered, recorded_at=answered
        )
        for n, a in enumerate(ex.answers(), start=1)
    ]
    [digest] = build_digests(answers, overview_start, overview_start + timedelta(days=1))
    address = str(invitees[1].person.email)
    counter = CounterAnswerDue(
        person=EventContact(name=address, email=address),
        network=ex.network,
        conference_id=ex.conference_id,
        invitation_id=invitees[1].invitation_id,
    )
    return [
        Example("committee-member-added", ex.committee_member_added(), {}),
        Example("committee-member-removed", ex.committee_member_removed(), {}),
        Example("office-staff-assigned", ex.office_staff_assigned(), {}),
        Example("field-of-action-adopted", ex.field_of_action_adopted(), {}),
        Example("conference-scheduled", ex.conference_scheduled(invitees), {}),
        Example("conference-rescheduled", ex.conference_rescheduled(invitees), {}),
        Example("conference-updated", ex.conference_updated(invitees), {}),
        Example("conference-cancelled", ex.conference_cancelled(invitees), {}),
        Example("participant-withdrawn", ex.participant_withdrawn(invitees[1]), {}),
        Example("conference-reminder-due", ex.conference_reminder_due(invitees), {}),
        Example("participant-responded", ex.participant_responded(invitees[0]), {}),
        Example(
            "participant-responded",
            ex.participant_waitlisted(invitees[0], position=3),
            {},
            "response-confirmation-waitlisted",
        ),
        Example(
            "participant-responded",
            ex.participant_moved_up(invitees[1]),
            {},
            "response-confirmation-moved-up",
        ),
        Example("conference-concluded", ex.conference_concluded(), {}),
        Example("district-bulletin-published", ex.district_bulletin_published(["bochum"]), {}),
        Example(DISTRICT_REPORT_DUE, report, report_extra),
        Example(RESPONSE_DIGEST_DUE, digest, {"digest": digest}),
        # As service_layer.inbound answers a COUNTER: to the address the invitation went to,
        # greeted without a name (the inbound mail's is not trusted).
        Example(CALENDAR_COUNTER_RECEIVED, counter, {"greeting": "Guten Tag,"}),
    ]


def addressing() -> Addressing:
    ex = Examples()
    bochum = (
        NetworkDirectory("bochum", "Bochum")
        .with_network("Bochum", Contact(ex.office_email, "Regionales Bildungsbüro Bochum"), 1)
        .with_member("m-1", Contact(ex.email("anna.schmidt"), "Dr. Anna Schmidt", 1))
    )
    district = DistrictCoordination(
        Contact(ex.email("petra.hoffmann", "bezreg.example.org"), "Petra Hoffmann"),
        Contact(ex.email("servicestelle", "bezreg.example.org"), "Servicestelle"),
    )
    return Addressing(bochum, [bochum], district)


def screenshot(html: Path, png: Path) -> None:
    """The page at phone width, as high as Chromium lays it out (nothing cut, nothing blank)."""
    browser = _browser()
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(  # noqa: S603 - fixed arguments, our own files
            [
                *_headless(browser, profile),
                f"--window-size={PHONE_WIDTH},{page_height(html, browser)}",
                f"--screenshot={png}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def _browser() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is missing: apt-get install -y chromium")
    return browser


def _headless(browser: str, profile: str) -> list[str]:
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]


# A frame as wide as a phone holding the page (in srcdoc, so its document can be read): a window
# for --dump-dom is at least 500 px wide, and the response page lays itself out by the viewport's
# width (a media query), which in the frame is a phone's. Its height once laid out is read back.
_FRAME = (
    '<!doctype html><html><body style="margin:0"><iframe id="page" srcdoc="{page}" '
    f'style="border:0;width:{PHONE_WIDTH}px;height:100px"></iframe><script>'
    'addEventListener("load", () => { const page = document.getElementById("page")'
    ".contentDocument.documentElement; document.body.setAttribute("
    '"data-height", String(Math.ceil(page.scrollHeight))); })</script></body></html>'
)


def page_height(html: Path, browser: str) -> int:
    """A page's height at a phone's width, as Chromium lays it out in a frame that wide."""
    with tempfile.TemporaryDirectory() as work:
        frame = Path(work) / "frame.html"
        frame.write_text(_FRAME.replace("{page}", markup.escape(html.read_text(), quote=True)))
        dom = subprocess.run(  # noqa: S603 - fixed arguments, our own files
            [
                *_headless(browser, str(Path(work) / "profile")),
                f"--window-size={PHONE_WIDTH},100",
                "--dump-dom",
                frame.as_uri(),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    found = re.search(r'data-height="(\d+)"', dom)
    if found is None:
        raise SystemExit(f"chromium did not measure the page's height: {dom[:200]!r}")
    return min(3000, int(found.group(1)))


def render_pages(out: Path, screenshots: bool) -> list[page_examples.PageExample]:
    """The response page in each state: its HTML as the service sends it, and a picture."""
    out.mkdir(parents=True, exist_ok=True)
    shown = page_examples.examples()
    for example in shown:
        html = out / f"{example.name}.html"
        html.write_text(example.html)
        if screenshots:
            screenshot(html, out / f"{example.name}.png")
    lines = [
        "# What invitees see",
        "",
        "The personal response page behind the link in every invitation (conferences service,",
        "`GET`/`POST /respond/{token}`, see [conferences](../conferences.md)), in each state an",
        "invitee can meet. Rendered by `uv run rbn-render-mails` with the route's own code",
        "(`conferences.entrypoints.page`) from example conferences (`rbn_tools.page_examples`):",
        "the HTML as the service sends it, pictured at a phone's width in `.png`.",
        "",
        "| state | what the invitee sees | files |",
        "|---|---|---|",
    ]
    for example in shown:
        status = "" if example.status_code == 200 else f" (HTTP {example.status_code})"
        files = f"[HTML]({example.name}.html), [picture]({example.name}.png)"
        lines.append(f"| {example.state}{status} | {example.sees} | {files} |")
    (out / "README.md").write_text("\n".join(lines) + "\n")
    return shown


# The operator's notices as production has them (RBN_IMPRINT_URL, RBN_PRIVACY_NOTICE_URL).
EXAMPLE_LEGAL = LegalLinks(
    "https://www.bezreg-arnsberg.example/impressum",
    "https://www.bezreg-arnsberg.example/datenschutz-bildungsnetzwerke",
)


def render(out: Path, screenshots: bool) -> list[tuple[str, str]]:
    out.mkdir(parents=True, exist_ok=True)
    renderer = MailRenderer(
        UnsubscribeLinks("example-secret", "https://bildungsnetzwerke.example.org"), EXAMPLE_LEGAL
    )
    index: list[tuple[str, str]] = []
    for event_type, payload, extra, name in examples():
        seen: set[str] = set()
        for planned in plan(event_type, payload, addressing()):
            if planned.rule.template in seen:
                continue
            seen.add(planned.rule.template)
            template = name or planned.rule.template
            mail = renderer.render(
                planned.rule, planned.recipient, payload, stamp=STAMP, extra=extra
            )
            (out / f"{template}.txt").write_text(f"Betreff: {mail.subject}\n\n{mail.text}")
            (out / f"{template}.html").write_text(mail.html)
            if mail.calendar:
                (out / f"{template}.ics").write_bytes(mail.calendar.ics)
            if screenshots:
                screenshot(out / f"{template}.html", out / f"{template}.png")
            index.append((template, mail.subject))
    page = PageRenderer(EXAMPLE_LEGAL).render(
        "unsubscribed",
        email="sabine.krueger@schule.example.org",
        label=TOPIC_LABELS_DE[Topic.REMINDERS],
        subscribed=False,
        toggle_url="subscribe?token=example",
    )
    (out / "unsubscribe-page.html").write_text(page)
    if screenshots:
        screenshot(out / "unsubscribe-page.html", out / "unsubscribe-page.png")
    _render_unsubscribe_confirmation(out, screenshots)
    return index


def _render_unsubscribe_confirmation(out: Path, screenshots: bool) -> None:
    """What opening the link shows first: a question and a button; nothing is switched yet."""
    page = PageRenderer(EXAMPLE_LEGAL).render(
        "unsubscribe-confirm",
        email="sabine.krueger@schule.example.org",
        label=TOPIC_LABELS_DE[Topic.REMINDERS],
        confirm_url="unsubscribe?token=example",
    )
    (out / "unsubscribe-confirm.html").write_text(page)
    if screenshots:
        screenshot(out / "unsubscribe-confirm.html", out / "unsubscribe-confirm.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/mails"))
    parser.add_argument("--pages-out", type=Path, default=Path("docs/pages"))
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args()
    index = render(args.out, not args.no_screenshots)
    lines = [
        "# What staff receive",
        "",
        "One example of every kind of mail, rendered from example events by",
        "`uv run rbn-render-mails`. Each has a text part (`.txt`), an HTML",
        "part (`.html`, pictured at a phone's width in `.png`) and, for invitations, changes and",
        "cancellations, the calendar entry (`.ics`).",
        "",
        "| mail | subject | files |",
        "|---|---|---|",
    ]
    for name, subject in index:
        files = [f"[text]({name}.txt)", f"[HTML]({name}.html)", f"[picture]({name}.png)"]
        if (args.out / f"{name}.ics").exists():
            files.append(f"[calendar]({name}.ics)")
        lines.append(f"| `{name}` | {subject} | {', '.join(files)} |")
    lines += [
        "",
        "The unsubscribe link of a reminder or a report opens a page that asks to confirm and",
        "changes nothing yet ([HTML](unsubscribe-confirm.html),",
        "[picture](unsubscribe-confirm.png)); its button switches the mail off and shows a page",
        "that confirms it, with a button to switch it on again: [HTML](unsubscribe-page.html),",
        "[picture](unsubscribe-page.png).",
    ]
    (args.out / "README.md").write_text("\n".join(lines) + "\n")
    pages = render_pages(args.pages_out, not args.no_screenshots)
    print(f"rendered {len(index)} mails into {args.out}, {len(pages)} pages into {args.pages_out}")


if __name__ == "__main__":
    main()
