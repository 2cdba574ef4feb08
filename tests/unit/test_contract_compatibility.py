"""Incompatible schema changes are caught; compatible ones pass.

Within one event version the set of valid messages stays as it is, except for new optional fields
(compatibility.py says why): a tightened constraint breaks reading what was published before, a
loosened one breaks subscribers validating with the release's schema. Both are refused.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rbn_shared.events import CATALOGUE
from rbn_shared.events.compatibility import compare, compare_folders
from rbn_shared.events.schemas import schema_of

Schema = dict[str, Any]


def member_added() -> dict[str, Any]:
    return schema_of(CATALOGUE["committee-member-added"])


def payload_def(schema: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = schema["$defs"]["CommitteeMemberAdded"]
    return definition


def person_def(schema: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = schema["$defs"]["Person"]
    return definition


def message(value: Schema, *, required: bool = True, **keywords: Any) -> Schema:
    """A small hand-written message schema with one field, `value`."""
    return {
        "type": "object",
        "properties": {"value": value},
        "required": ["value"] if required else [],
        **keywords,
    }


def nullable(value: Schema) -> Schema:
    return {"anyOf": [value, {"type": "null"}], "default": None}


TEXT = {"type": "string", "minLength": 1, "maxLength": 100}
COUNT = {"type": "integer", "minimum": 0, "maximum": 10}
TAGS = {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 5}
ROLE = {"type": "string", "enum": ["chair", "member"]}


# --- the real models ------------------------------------------------------------------------------


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


def test_a_tightened_constraint_behind_a_ref_names_the_field() -> None:
    new = member_added()
    person_def(new)["properties"]["name"]["maxLength"] = 20
    assert compare(member_added(), new) == ["payload.person.name: maxLength lowered from 200 to 20"]


def test_a_vanished_event_is_not_but_a_new_version_beside_it_is_fine() -> None:
    old = {"committee-member-added.v1.schema.json": member_added()}
    assert compare_folders(old, {}) == [
        "committee-member-added.v1.schema.json: the event type or version is gone"
    ]
    newer = copy.deepcopy(old)
    newer["committee-member-added.v2.schema.json"] = member_added()
    assert compare_folders(old, newer) == []


# --- tightened: what was published before would fail the new schema -----------------------------

TIGHTENED = {
    "maxLength added": (
        {"type": "string"},
        {"type": "string", "maxLength": 50},
        "value: maxLength added (50)",
    ),
    "maxLength lowered": (
        TEXT,
        {**TEXT, "maxLength": 80},
        "value: maxLength lowered from 100 to 80",
    ),
    "minLength raised": (TEXT, {**TEXT, "minLength": 3}, "value: minLength raised from 1 to 3"),
    "pattern added": (
        TEXT,
        {**TEXT, "pattern": "^[a-z]+$"},
        'value: pattern added ("^[a-z]+$")',
    ),
    "pattern changed": (
        {**TEXT, "pattern": "^[a-z]+$"},
        {**TEXT, "pattern": "^[a-z]{2,}$"},
        'value: pattern changed from "^[a-z]+$" to "^[a-z]{2,}$"',
    ),
    "format added": (
        {"type": "string"},
        {"type": "string", "format": "idn-email"},
        'value: format added ("idn-email")',
    ),
    "maximum lowered": (COUNT, {**COUNT, "maximum": 5}, "value: maximum lowered from 10 to 5"),
    "minimum raised": (COUNT, {**COUNT, "minimum": 1}, "value: minimum raised from 0 to 1"),
    "exclusiveMinimum added": (
        {"type": "number"},
        {"type": "number", "exclusiveMinimum": 0},
        "value: exclusiveMinimum added (0)",
    ),
    "exclusiveMaximum added": (
        {"type": "number"},
        {"type": "number", "exclusiveMaximum": 1.5},
        "value: exclusiveMaximum added (1.5)",
    ),
    "maxItems lowered": (TAGS, {**TAGS, "maxItems": 3}, "value: maxItems lowered from 5 to 3"),
    "minItems raised": (TAGS, {**TAGS, "minItems": 2}, "value: minItems raised from 1 to 2"),
    "an item's constraint tightened": (
        TAGS,
        {**TAGS, "items": {"type": "string", "maxLength": 10}},
        "value[]: maxLength added (10)",
    ),
    "enum value removed": (
        ROLE,
        {**ROLE, "enum": ["member"]},
        'value: enum values removed: "chair"',
    ),
    "const added": (
        {"type": "integer"},
        {"type": "integer", "const": 1},
        "value: const added (1)",
    ),
    "const changed": (
        {"type": "string", "const": "network-registered"},
        {"type": "string", "const": "network-renamed"},
        'value: const changed from "network-registered" to "network-renamed"',
    ),
    "type narrowed from number to integer": (
        {"type": "number"},
        {"type": "integer"},
        "value: type changed from ['number'] to ['integer']",
    ),
    "no longer nullable": (nullable(TEXT), TEXT, "value: no longer accepts null"),
    "an anyOf branch removed": (
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": "string"},
        "value: no longer accepts integer",
    ),
    "a list of types narrowed": (
        {"type": ["string", "null"]},
        {"type": "string"},
        "value: no longer accepts null",
    ),
    "the nullable value's constraint tightened": (
        nullable(TEXT),
        nullable({**TEXT, "maxLength": 10}),
        "value: maxLength lowered from 100 to 10",
    ),
}


@pytest.mark.parametrize(("old", "new", "problem"), TIGHTENED.values(), ids=TIGHTENED.keys())
def test_a_tightened_value_is_refused(old: Schema, new: Schema, problem: str) -> None:
    assert compare(message(old), message(new)) == [problem]


def test_additional_properties_newly_false_is_refused() -> None:
    old = message(TEXT)
    new = message(TEXT, additionalProperties=False)
    assert compare(old, new) == ["<root>: additionalProperties newly false"]


def test_a_field_newly_required_is_refused() -> None:
    assert compare(message(TEXT, required=False), message(TEXT)) == ["value: newly required"]


# --- loosened: subscribers validating with the release's schema would reject new messages ---------

LOOSENED = {
    "maxLength raised": (
        TEXT,
        {**TEXT, "maxLength": 200},
        "value: maxLength raised from 100 to 200",
    ),
    "maxLength removed": (
        TEXT,
        {"type": "string", "minLength": 1},
        "value: maxLength removed (was 100)",
    ),
    "minimum lowered": (COUNT, {**COUNT, "minimum": -1}, "value: minimum lowered from 0 to -1"),
    "pattern removed": (
        {**TEXT, "pattern": "^[a-z]+$"},
        TEXT,
        'value: pattern removed (was "^[a-z]+$")',
    ),
    "format removed": (
        {"type": "string", "format": "date"},
        {"type": "string"},
        'value: format removed (was "date")',
    ),
    "enum value added": (
        ROLE,
        {**ROLE, "enum": ["chair", "member", "guest"]},
        'value: enum values added: "guest"',
    ),
    "enum dropped": (ROLE, {"type": "string"}, 'value: enum removed (was "chair", "member")'),
    "newly nullable": (TEXT, nullable(TEXT), "value: newly accepts null"),
    "type widened from integer to number": (
        {"type": "integer"},
        {"type": "number"},
        "value: type changed from ['integer'] to ['number']",
    ),
}


@pytest.mark.parametrize(("old", "new", "problem"), LOOSENED.values(), ids=LOOSENED.keys())
def test_a_loosened_value_is_refused_too(old: Schema, new: Schema, problem: str) -> None:
    assert compare(message(old), message(new)) == [problem]


def test_a_field_no_longer_required_is_refused() -> None:
    assert compare(message(TEXT), message(TEXT, required=False)) == ["value: no longer required"]


def test_a_new_field_where_unknown_fields_were_refused_is_refused() -> None:
    old = message(TEXT, additionalProperties=False)
    new = copy.deepcopy(old)
    new["properties"]["room"] = {"type": "string"}
    assert compare(old, new) == ["room: added, where the old schema refused unknown fields"]


# --- still accepted ------------------------------------------------------------------------------


def test_annotations_may_change() -> None:
    old = message({**TEXT, "title": "Value"})
    new = message({**TEXT, "title": "Wert", "description": "what", "examples": ["x"]})
    new["description"] = "A message."
    assert compare(old, new) == []


def test_a_definition_renamed_or_inlined_is_the_same_schema() -> None:
    old = {**message({"$ref": "#/$defs/Text"}), "$defs": {"Text": TEXT}}
    renamed = {**message({"$ref": "#/$defs/Line"}), "$defs": {"Line": TEXT}}
    assert compare(old, renamed) == []
    assert compare(old, message(TEXT)) == []


def test_a_new_optional_field_in_a_nested_object_is_fine() -> None:
    old = message(message(TEXT))
    new = copy.deepcopy(old)
    new["properties"]["value"]["properties"]["note"] = nullable(TEXT)
    assert compare(old, new) == []


def test_a_recursive_model_is_compared_without_looping() -> None:
    tree: Schema = {
        "$defs": {"Node": message({"type": "array", "items": {"$ref": "#/$defs/Node"}})},
        "$ref": "#/$defs/Node",
    }
    tighter = copy.deepcopy(tree)
    tighter["$defs"]["Node"]["properties"]["value"]["maxItems"] = 3
    assert compare(tree, copy.deepcopy(tree)) == []
    assert compare(tree, tighter) == ["value: maxItems added (3)"]
