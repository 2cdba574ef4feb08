"""A conference's participant list to download: the invitees as CSV for Excel and the sign-in
sheet (Teilnehmerliste) as PDF. The conferences API decides who may see the people: without
`invitations` in its answer the person gets the refusal page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.apis import Answer
from portal.domain import participants
from portal.entrypoints.web import Calls, refused

router = APIRouter()

NOT_FOR_YOU = Answer(
    403, {"detail": "Die Teilnehmerliste dieser Konferenz ist für Sie nicht freigegeben."}, None
)


def filename(conference_id: str, extension: str) -> str:
    """`teilnehmerliste-<id>.<ext>`, only ASCII letters, digits, `-` and `_`."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", conference_id).strip("-")[:80]
    return f"teilnehmerliste-{safe}.{extension}" if safe else f"teilnehmerliste.{extension}"


Render = Callable[[dict[str, Any]], bytes]

# The downloads by their ending: the media type and how the file is made of the conference.
FORMATS: dict[str, tuple[str, Render]] = {
    "csv": ("text/csv; charset=utf-8", participants.csv_bytes),  # the invitees, for Excel
    "pdf": ("application/pdf", participants.sign_in_sheet_pdf),  # the sign-in sheet
}


def _download_route(extension: str, media_type: str, render: Render) -> None:
    @router.get(f"/konferenzen/{{conference_id}}/teilnehmerliste.{extension}", response_model=None)
    async def download(
        request: Request, conference_id: str, call: Calls
    ) -> Response | HTMLResponse:
        answer = await call.conferences(f"/conferences/{conference_id}")
        if not answer.ok:
            return refused(request, call.person, answer)
        conference = answer.body
        if not isinstance(conference, dict) or conference.get("invitations") is None:
            return refused(request, call.person, NOT_FOR_YOU)
        return Response(
            render(conference),
            media_type=media_type,
            headers={
                "Content-Disposition": (
                    f'attachment; filename="{filename(conference_id, extension)}"'
                ),
                "Cache-Control": "no-store",  # names and addresses of people
                "X-Content-Type-Options": "nosniff",
            },
        )


for _extension, (_media_type, _render) in FORMATS.items():
    _download_route(_extension, _media_type, _render)
