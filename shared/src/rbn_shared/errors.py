"""Errors every service's domain and storage share (pure: no I/O imports)."""

from __future__ import annotations


class VersionConflict(Exception):
    """The aggregate changed since the caller read it: the change was not applied.

    Raised by a domain that checks an If-Match version, and by the storage when its
    version-guarded write finds another version. HTTP answers 409.
    """
