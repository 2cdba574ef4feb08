"""The HTTP API: deliveries (read), preferences (read and change), the district report (read),
and the unsubscribe pages.

Same conventions as the other services: bearer tokens with roles (district, office:<network>,
reader), problem details for errors, X-Correlation-ID. The unsubscribe pages need no token: the
signed link is the authorisation, and it allows switching off one kind of mail for one address.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from notifications.adapters.repositories import DeliveryFilter, Repositories
from notifications.domain.delivery import DeliveryStatus
from notifications.domain.preferences import TOPIC_LABELS_DE, Preferences, Topic
from notifications.domain.report import Development, DevelopmentKind, ReportSection
from notifications.domain.report_calendar import BERLIN, ReportCalendar
from notifications.rendering.links import InvalidLink, UnsubscribeLinks
from notifications.rendering.mails import MailRenderer, PageRenderer
from notifications.service_layer.access import SubjectRights
from notifications.service_layer.preferences import change_preferences
from notifications.service_layer.reports import ReportWeek, WeekInFuture, report_of_week
from rbn_shared.addresses import AddressRefused, canonical_address
from rbn_shared.auth import DISTRICT, READER, Caller, Principal, district_router
from rbn_shared.changes import Clock
from rbn_shared.http import Problem, field_error, found, problem_responses
from rbn_shared.logging import get_logger
from rbn_shared.paging import Limit, Offset, Page
from rbn_shared.privacy_api import subject_rights_router

log = get_logger(__name__)


@dataclass(frozen=True)
class ApiServices:
    """What the routes use, wired once by the bootstrap (in `app.state.services`)."""

    repositories: Repositories
    links: UnsubscribeLinks
    pages: PageRenderer
    renderer: MailRenderer  # the mails, for previews
    clock: Clock
    report_calendar: ReportCalendar = dataclasses.field(default_factory=ReportCalendar)


async def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(_services)]


# --------------------------------------------------------------------------- models


class DeliveryView(BaseModel):
    # Read from the delivery's attributes of the same names; what a reader looks for first
    # comes first: which mail, how it stands, to whom, about what.
    model_config = ConfigDict(from_attributes=True)

    delivery_id: str
    status: DeliveryStatus
    recipient: str
    subject: str
    network_id: str | None
    cause_event_type: str
    cause_event_id: str
    correlation_id: str
    conference_id: str | None = Field(default=None, description="For a mail about a conference")
    invitation_id: str | None = Field(default=None, description="For a mail to an invitee")
    needs_smtputf8: bool = Field(
        default=False, description="The address's local part is not ASCII: sent with SMTPUTF8"
    )
    template: str
    category: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    in_doubt_attempts: int


class PreferencesView(BaseModel):
    email: str
    reminders: bool = Field(description="Conference reminders")
    reports: bool = Field(description="The district report")

    @classmethod
    def of(cls, p: Preferences) -> PreferencesView:
        return cls(email=p.email, **p.as_flags())


class PreferencesChange(BaseModel):
    """Switch kinds of mail on (true) or off (false); absent fields stay as they are.

    Invitations, changes, cancellations and information mails cannot be switched off.
    """

    model_config = ConfigDict(extra="forbid")

    reminders: bool | None = None
    reports: bool | None = None


# --------------------------------------------------------------------------- routes

# One router per resource: its path and its tag are said once.
deliveries = APIRouter(prefix="/deliveries", tags=["deliveries"])
preferences = APIRouter(prefix="/preferences", tags=["preferences"])
links = APIRouter()


@deliveries.get(
    "",
    summary="Deliveries, newest first (an office's: its own network's)",
    responses=problem_responses(401, 403, 422),
)
async def list_deliveries(
    caller: Caller,
    services: Services,
    recipient: Annotated[
        str | None, Query(max_length=320, description="The recipient's address, without a name")
    ] = None,
    event_id: Annotated[uuid.UUID | None, Query(description="The cause event's id")] = None,
    status: DeliveryStatus | None = None,
    network_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[DeliveryView]:
    where = DeliveryFilter(
        recipient=_address(recipient, "query.recipient") if recipient else None,
        cause_event_id=str(event_id) if event_id else None,
        status=status,
        network_id=_visible_network(caller, network_id),
    )
    repository = services.repositories.deliveries
    listed = await repository.search(where, limit=limit, offset=offset)
    return Page(
        items=[DeliveryView.model_validate(d) for d in listed],
        total=await repository.count(where),
        limit=limit,
        offset=offset,
    )


def _visible_network(caller: Principal, asked: str | None) -> str | None:
    """Whose deliveries the caller may list: the district anyone's, an office its own network's
    (also when it names none), a reader no one's (403)."""
    if asked is None and caller.network_id is not None:
        return caller.network_id
    caller.require_personal_data(asked)
    return asked


@deliveries.get(
    "/{delivery_id}", summary="One delivery", responses=problem_responses(401, 403, 404)
)
async def get_delivery(delivery_id: str, caller: Caller, services: Services) -> DeliveryView:
    stored = await services.repositories.deliveries.get(delivery_id)
    delivery = found(stored, f"No delivery {delivery_id!r}.").delivery
    caller.require_personal_data(delivery.network_id)
    return DeliveryView.model_validate(delivery)


def _address(email: str, field: str = "path.email") -> str:
    """The address in the system's one canonical form, or 422 naming the field."""
    try:
        return canonical_address(email)
    except AddressRefused as error:
        raise Problem(
            422,
            "Invalid input",
            "The address is not valid.",
            errors=[field_error(field, str(error))],
            kind="invalid-input",
        ) from error


@preferences.get(
    "/{email}",
    summary="What an address receives (staff of the district and the offices)",
    responses=problem_responses(401, 403, 422),
)
async def get_preferences(email: str, caller: Caller, services: Services) -> PreferencesView:
    if caller.role == READER:
        raise Problem(403, "Forbidden", "An address's preferences are for staff.", kind="forbidden")
    address = _address(email)
    current, _ = await services.repositories.preferences.get(address)
    return PreferencesView.of(current)


@preferences.put(
    "/{email}",
    summary="Switch reminders or reports",
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def put_preferences(
    email: str, change: PreferencesChange, caller: Caller, services: Services
) -> PreferencesView:
    address = _address(email)
    if caller.role == READER:
        raise Problem(403, "Forbidden", "This token may only read.", kind="forbidden")
    if caller.role != DISTRICT:
        # An office changes preferences of the people of its own network only.
        network, _ = await services.repositories.directory.network(caller.network_id or "")
        if network is None or not network.knows_address(address):
            raise Problem(
                403,
                "Forbidden",
                "This address belongs to no one of your network.",
                kind="forbidden",
            )
    wanted = {
        topic: value
        for topic, value in ((Topic.REMINDERS, change.reminders), (Topic.REPORTS, change.reports))
        if value is not None
    }
    changed = await change_preferences(
        services.repositories.preferences, address, wanted, services.clock
    )
    log.info("preferences changed", role=caller.role, switched=sorted(t.value for t in wanted))
    return PreferencesView.of(changed)


# --------------------------------------------------------------------------- unsubscribe pages

# A person follows these links: a broken one gets a German page, not a problem document.
INVALID_LINK_PAGE: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "The link is invalid or damaged (a German HTML page)",
        "content": {"text/html": {}},
    }
}

LinkToken = Annotated[str, Query(max_length=2000)]


def _link_page(*problems: int) -> dict[str, Any]:
    """How a route behind a signed link is declared: it answers with a German HTML page."""
    return {
        "tags": ["unsubscribe"],
        "response_class": HTMLResponse,
        "responses": {**problem_responses(*problems), **INVALID_LINK_PAGE},
    }


async def _switch(services: ApiServices, token: str, *, subscribed: bool) -> HTMLResponse:
    try:
        link = services.links.read(token)
    except InvalidLink:
        return HTMLResponse(services.pages.render("invalid-link"), status_code=400)
    await change_preferences(
        services.repositories.preferences, link.email, {link.topic: subscribed}, services.clock
    )
    log.info("preference switched by link", topic=link.topic.value, subscribed=subscribed)
    toggle = "subscribe" if not subscribed else "unsubscribe"
    page = services.pages.render(
        "unsubscribed",
        email=link.email,
        label=TOPIC_LABELS_DE[link.topic],
        subscribed=subscribed,
        toggle_url=f"{toggle}?token={token}",
    )
    return HTMLResponse(page)


@links.get("/unsubscribe", **_link_page(422))
async def unsubscribe_page(services: Services, token: LinkToken) -> HTMLResponse:
    """The link in a mail: a page that asks to confirm with a button, and changes nothing.

    Mail gateways open links to scan them; a GET that switched mail off would unsubscribe
    people who never clicked. The button posts to the one-click route below.
    An invalid or damaged link is answered with a German HTML page and 400.
    """
    try:
        link = services.links.read(token)
    except InvalidLink:
        return HTMLResponse(services.pages.render("invalid-link"), status_code=400)
    page = services.pages.render(
        "unsubscribe-confirm",
        email=link.email,
        label=TOPIC_LABELS_DE[link.topic],
        confirm_url=f"unsubscribe?token={token}",
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@links.post("/unsubscribe", **_link_page(413, 422))
async def unsubscribe_one_click(services: Services, token: LinkToken) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (List-Unsubscribe-Post), and the page's button.

    An invalid or damaged link is answered with a German HTML page and 400.
    """
    return await _switch(services, token, subscribed=False)


@links.post("/subscribe", **_link_page(413, 422))
async def subscribe_again(services: Services, token: LinkToken) -> HTMLResponse:
    """The page's "switch it on again" button.

    An invalid or damaged link is answered with a German HTML page and 400.
    """
    return await _switch(services, token, subscribed=True)


# --------------------------------------------------------------------------- district report


class ReportItemView(BaseModel):
    network_id: str
    network_name: str
    title: str = Field(description="The field of action, conference or member")
    occurred_at: datetime
    details: dict[str, Any] = Field(
        description="Conferences: starts_at, ends_at (held: recommendations, summary); "
        "committee members: role, side"
    )

    @classmethod
    def of(cls, d: Development) -> ReportItemView:
        return cls(
            network_id=d.network_id,
            network_name=d.network_name,
            title=d.title,
            occurred_at=d.occurred_at.astimezone(BERLIN),
            details=d.details,
        )


class ReportSectionView(BaseModel):
    kind: DevelopmentKind
    title: str = Field(description="The section's German heading")
    items: list[ReportItemView]

    @classmethod
    def of(cls, section: ReportSection) -> ReportSectionView:
        return cls(
            kind=section.kind,
            title=section.title,
            items=[ReportItemView.of(d) for d in section.items],
        )


class DistrictReportView(BaseModel):
    period_start: datetime = Field(description="Europe/Berlin")
    period_end: datetime = Field(description="Europe/Berlin; exclusive")
    sections: list[ReportSectionView] = Field(
        description="Only kinds that happened, in the mailed report's order"
    )
    previous_period_start: datetime
    next_period_start: datetime | None = Field(description="None for the current period")

    @classmethod
    def of(cls, week: ReportWeek) -> DistrictReportView:
        report = week.report
        return cls(
            period_start=report.period_start.astimezone(BERLIN),
            period_end=report.period_end.astimezone(BERLIN),
            sections=[ReportSectionView.of(s) for s in report.sections],
            previous_period_start=week.previous_start.astimezone(BERLIN),
            next_period_start=week.next_start.astimezone(BERLIN) if week.next_start else None,
        )


district = district_router("/district", "district report")


@district.get(
    "/report",
    summary="What happened across the networks in one report period (district only)",
    responses=problem_responses(401, 403, 422),
)
async def get_district_report(
    services: Services,
    week: Annotated[
        date | None, Query(description="A day inside the period; default: the current one")
    ] = None,
) -> DistrictReportView:
    try:
        found_week = await report_of_week(
            services.repositories.developments, services.report_calendar, services.clock(), week
        )
    except WeekInFuture as error:
        raise Problem(
            422,
            "Invalid input",
            "That period has not begun.",
            errors=[field_error("query.week", "must not lie after the current period")],
            kind="invalid-input",
        ) from error
    return DistrictReportView.of(found_week)


# --------------------------------------------------------------------------- privacy


async def _subject_rights(request: Request) -> SubjectRights:
    services: ApiServices = request.app.state.services
    return SubjectRights(services.repositories, services.clock)


privacy = subject_rights_router("notifications", _subject_rights)


router = APIRouter()
for resource in (deliveries, preferences, district, privacy, links):
    router.include_router(resource)
