"""Hand an event to the notifier as the service's consumers do: through its reaction table."""

from __future__ import annotations

from typing import Any, cast

from notifications.entrypoints.consumers import reactions
from notifications.service_layer.digests import ResponseDigests
from notifications.service_layer.erasure import Erasures
from notifications.service_layer.notifier import Notifier
from rbn_shared.events import Envelope


class _NoAnswersExpected:
    """Stands in for the digests where a test hands over no answer: one would fail loudly."""

    async def record_response(self, envelope: Envelope, payload: Any) -> None:
        raise AssertionError("this test has no response digests wired")


class _NoErasureExpected:
    """Stands in for the erasures where a test hands over no person-erased."""

    async def person_erased(self, envelope: Envelope, payload: Any) -> None:
        raise AssertionError("this test has no erasures wired")

    async def erase_again(self, envelope: Envelope, payload: Any) -> None:
        """Nobody was erased here."""


async def react(
    notifier: Notifier, envelope: Envelope, payload: Any, digests: ResponseDigests | None = None
) -> None:
    """Run the reactions the table names for the event's type (none for an unknown one)."""
    answers = digests if digests is not None else cast(ResponseDigests, _NoAnswersExpected())
    erasures = cast(Erasures, _NoErasureExpected())
    for table in reactions(notifier, answers, erasures).values():
        handle = table.handlers().get(envelope.type)
        if handle is not None:
            await handle(envelope, payload)
