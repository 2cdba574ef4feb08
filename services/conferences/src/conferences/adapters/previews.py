"""The invitation as an invitee will receive it, rendered by the notifications service.

The mails are written by the notifications service alone; this service never imports its code.
A preview sends it the event the real mail would come from (`POST /previews`), and it answers
with the mail as its own renderer writes it, sending and storing nothing. The caller's bearer
token goes along, so the notifications service's own authorization decides.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from rbn_shared.events import EventPayload


class PreviewUnavailable(Exception):
    """The notifications service could not be asked, or did not render the preview."""


@dataclass(frozen=True)
class RenderedPreview:
    status: int  # the notifications service's answer: 200, or its problem's status
    body: dict[str, Any]


@dataclass(frozen=True)
class NotificationsPreviews:
    base_url: str  # where the notifications service's API is
    timeout_seconds: float = 10.0

    async def render(
        self, payload: EventPayload, invitation_id: str, *, authorization: str | None
    ) -> RenderedPreview:
        body = {
            "event_type": payload.event_type,
            "payload": payload.model_dump(mode="json"),
            "invitation_id": invitation_id,
        }
        return await asyncio.to_thread(self._post, body, authorization)

    def _post(self, body: dict[str, Any], authorization: str | None) -> RenderedPreview:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        request = urllib.request.Request(  # noqa: S310 - the URL is configuration, http(s) only
            self.base_url.rstrip("/") + "/previews",
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:  # noqa: S310
                return RenderedPreview(answer.status, json.loads(answer.read()))
        except urllib.error.HTTPError as error:
            try:
                problem = json.loads(error.read())
            except ValueError:
                problem = {"detail": error.reason}
            return RenderedPreview(error.code, problem)
        except (OSError, ValueError) as error:
            raise PreviewUnavailable(
                f"the notifications service did not answer: {error}"
            ) from error
