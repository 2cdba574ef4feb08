"""What can go wrong in the registry's domain, independent of HTTP.

A stale version is the shared `rbn_shared.errors.VersionConflict` (the domain's If-Match checks
and the storage's version guard raise the same error).
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The network or the entity in it does not exist."""


class Conflict(DomainError):
    """The change contradicts the current state (a duplicate, a second active agreement)."""


class RuleViolation(DomainError):
    """The change is well-formed but breaks a rule (dates in the wrong order, say)."""
