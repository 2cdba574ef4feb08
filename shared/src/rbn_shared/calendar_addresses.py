"""The two names a calendar entry carries that both the conferences and the notifications service
read: its UID (`conference-<id>@…`, one per conference for its whole life) and the reply address
its ORGANIZER names (`antwort+<token>@<reply domain>`).

The token's form lives here; its signature does not: only the conferences service holds the
secret and verifies it.
"""

from __future__ import annotations

import re

UID_DOMAIN = "rbn-arnsberg.nrw.de"
REPLY_LOCAL_PART = "antwort"
# conference, invitation, expiry (base 36), signature: lower case, as mail servers may fold case
TOKEN_PARTS = 4
_PART = re.compile(r"[a-z0-9-]{1,40}")
_UID = re.compile(r"conference-([a-z0-9-]{1,40})@.+")


def conference_uid(conference_id: str) -> str:
    return f"conference-{conference_id}@{UID_DOMAIN}"


def conference_of_uid(uid: str) -> str | None:
    """The conference a calendar UID names, if it names one."""
    match = _UID.fullmatch(uid.lower())
    return match.group(1) if match else None


def reply_address(token: str, domain: str) -> str:
    return f"{REPLY_LOCAL_PART}+{token}@{domain}"


def token_parts(token: str) -> list[str] | None:
    """A well-formed token's parts, lower case; None if it is not of the form."""
    parts = token.lower().split(".")
    if len(parts) != TOKEN_PARTS or not all(_PART.fullmatch(p) for p in parts):
        return None
    return parts


def token_in(address: str) -> str | None:
    """The token of `antwort+<token>@…`, lower case, if the address has a well-formed one."""
    local = address.rpartition("@")[0].lower()
    prefix = f"{REPLY_LOCAL_PART}+"
    if not local.startswith(prefix):
        return None
    token = local.removeprefix(prefix)
    return token if token_parts(token) is not None else None


def is_reply_address(address: str) -> bool:
    """Whether an address is one of the reply addresses (with or without a usable token)."""
    local = address.rpartition("@")[0].lower()
    return local == REPLY_LOCAL_PART or local.startswith(f"{REPLY_LOCAL_PART}+")
