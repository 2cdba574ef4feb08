"""Errors every service's domain and storage share (pure: no I/O imports)."""

from __future__ import annotations


class VersionConflict(Exception):
    """The aggregate changed since the caller read it: the change was not applied.

    Raised by a domain that checks an If-Match version, and by the storage when its
    version-guarded write finds another version. HTTP answers 409.
    """


class ConcurrentWrite(VersionConflict):
    """The storage's version-guarded write found that another writer (a second instance, or a
    reaction) stored the aggregate after this change read it.

    A change that brought no version of its own (adding a member, say) may simply run again on
    the fresh state; one that did is answered 409 like any other stale version.
    """
