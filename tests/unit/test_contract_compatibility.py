"""Incompatible schema changes are caught; compatible ones pass."""

from __future__ import annotations

import copy
from typing import Any

from rbn_shared.events import CATALOGUE
from rbn_shared.events.compatibility import compare, compare_folders
from rbn_shared.events.schemas import schema_of


def member_added() -> dict[str, Any]:
    return schema_of(CATALOGUE["committee-member-added"])


def payload_def(schema: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = schema["$defs"]["CommitteeMemberAdded"]
    return definition


def person_def(schema: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = schema["$defs"]["Person"]
    return definition


def test_the_same_schema_is_compatible() -> None:
    assert compare(member_added(), member_added()) == []


def test_a_new_optional_field_is_compatible() -> None:
    new = member_added()
    payload_def(new)["properties"]["room"] = {"type": "string"}
    assert compare(member_added(), new) == []


def test_a_removed_field_is_not() -> None:
    new = member_added()
    del person_def(new)["properties"]["email"]
    assert compare(member_added(), new) == ["payload.person.email: removed"]


def test_a_changed_type_is_not() -> None:
    new = member_added()
    payload_def(new)["properties"]["term_start"] = {"type": "integer"}
    [problem] = compare(member_added(), new)
    assert problem.startswith("payload.term_start: type changed from ['string'] to ['integer']")


def test_a_newly_required_field_is_not() -> None:
    new = member_added()
    payload_def(new)["properties"]["room"] = {"type": "string"}
    payload_def(new)["required"].append("room")
    assert compare(member_added(), new) == ["payload.room: newly required"]


def test_a_vanished_event_is_not_but_a_new_version_beside_it_is_fine() -> None:
    old = {"committee-member-added.v1.schema.json": member_added()}
    assert compare_folders(old, {}) == [
        "committee-member-added.v1.schema.json: the event type or version is gone"
    ]
    newer = copy.deepcopy(old)
    newer["committee-member-added.v2.schema.json"] = member_added()
    assert compare_folders(old, newer) == []
