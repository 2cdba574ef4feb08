"""Why the domain refuses a change. The HTTP layer maps each to a problem document."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """A rule refused the change; nothing was changed."""


class InvalidInput(DomainError):
    """The request itself breaks a rule (422), field by field."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in errors))
        self.errors = list(errors)

    @classmethod
    def one(cls, field: str, reason: str) -> InvalidInput:
        return cls([(field, reason)])


class Refused(DomainError):
    """The request is well-formed but the current state does not allow it (409)."""

    def __init__(self, kind: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.title = title
        self.detail = detail


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what
