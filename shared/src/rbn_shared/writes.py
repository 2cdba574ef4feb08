"""How every route changes something, in every service: who asks (the caller, whose role the use
case checks), why (the request's correlation id as the change's cause), at which version (the
`If-Match` header), and the answer (the value, its `ETag`, and for something new its `Location`).

A route builds the use case's command from its body and `write.expected_version`, calls the named
use case, and returns `write.answer(result)`. A use case returns a `Versioned` value; a route
that reads one answers `read.answer(found)` (`read: Reads`), with the same ETag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Header, Request, Response

from rbn_shared.auth import Caller, Principal
from rbn_shared.changes import Cause
from rbn_shared.http import correlation_id_of, etag, version_from_if_match

T = TypeVar("T")


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """A value and the version that is its ETag."""

    value: T
    version: int


@dataclass
class Read:
    """How a route answers with one thing it read: its value, with its version as ETag (the
    version a change of it names in If-Match); and who asks, for what they may see."""

    caller: Principal
    response: Response

    def answer(self, found: Versioned[T]) -> T:
        self.response.headers["ETag"] = etag(found.version)
        return found.value


@dataclass
class Write:
    caller: Principal
    cause: Cause
    response: Response
    if_match: str | None

    @property
    def expected_version(self) -> int:
        """The version the caller read (428 without If-Match, 400 for a malformed one)."""
        return version_from_if_match(self.if_match)

    def answer(self, result: Versioned[T], *, location: str | None = None) -> T:
        """`result`'s value, with its version as ETag (and `Location` for something created)."""
        value = Read(self.caller, self.response).answer(result)
        if location is not None:
            self.response.headers["Location"] = location
        return value


# Every dependency is a coroutine (tests/api/test_dependencies.py): FastAPI runs a plain `def`
# one in a worker thread, a hand-off that cost the registry a tenth of its CPU per request.
async def _read(caller: Caller, response: Response) -> Read:
    return Read(caller, response)


Reads = Annotated[Read, Depends(_read)]
"""The dependency a route that answers with one versioned value takes: `read: Reads`."""


async def _write(
    caller: Caller,
    request: Request,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The ETag of the version you read, e.g. "3"; required to change '
            "something that exists.",
        ),
    ] = None,
) -> Write:
    # The caller's subject travels with the change's events as their actor: the audit trail.
    cause = Cause(correlation_id_of(request), actor=caller.subject)
    return Write(caller, cause, response, if_match)


Writes = Annotated[Write, Depends(_write)]
"""The dependency a changing route takes: `write: Writes`."""
