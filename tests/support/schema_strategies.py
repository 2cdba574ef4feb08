"""Hypothesis strategies for event payloads, drawn from the published JSON Schemas.

Every value drawn is valid against its event's schema in contracts/events/ (the tests check that
with jsonschema), and its text is as hostile as the schema allows: control characters, line
breaks, emoji, right-to-left text, markup, strings as long as permitted. Addresses are a mix of
ordinary, internationalised (Unicode domains, non-ASCII local parts) and schema-valid ones that
the address policy refuses.

(hypothesis-jsonschema would do this, but its release does not run with the current Hypothesis.)
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from hypothesis import strategies as st

from tests.support.events import SCHEMAS

Schema = dict[str, Any]

# Characters people paste, and characters nobody should: to stress every text field.
HOSTILE_TEXT = st.one_of(
    st.text(min_size=1, max_size=40),  # any Unicode, control characters included
    st.sampled_from(
        [
            "Anna\r\nBcc: evil@evil.example",
            "<script>alert('x')</script>",
            "Schule \u202eRTL\u202c Straße",
            "مدرسة الأمل",  # right-to-left text
            "👩‍🏫 Lehrerin 🏫",
            "Tab\there\u2028next\u2029para\x00nul\x7fdel",
            "=?utf-8?q?encoded?=",
            "{{ 7*7 }} {% raw %}",
            "   leading and trailing   ",
            "Ä" * 300,
        ]
    ),
)

DELIVERABLE_ADDRESSES = st.sampled_from(
    [
        "anna.schmidt@schule-bochum.example",
        "info@schule-müller.example",
        "büro@grundschule-hagen.example",  # non-ASCII local part: SMTPUTF8
        "leitung@xn--gymnasium-sd-6ib.example",
    ]
)
REFUSED_ADDRESSES = st.sampled_from(["a@b", "kein@name@", "x@localhost", "leer@.example"])


def _address() -> st.SearchStrategy[str]:
    return st.one_of(DELIVERABLE_ADDRESSES, DELIVERABLE_ADDRESSES, REFUSED_ADDRESSES).filter(
        lambda a: a.count("@") == 1 and " " not in a
    )


@cache
def payload_schema(event_type: str, version: int = 1) -> Schema:
    """The `payload` part of an event's published schema, with every $ref resolved."""
    whole: Schema = json.loads((SCHEMAS / f"{event_type}.v{version}.schema.json").read_text())
    definitions = whole.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {k: inline(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    resolved: Schema = inline(whole["properties"]["payload"])
    return resolved


def from_schema(schema: Schema) -> st.SearchStrategy[Any]:
    """Values valid against `schema` (the subset of JSON Schema the contracts use)."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(branch) for branch in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema)
    if kind == "array":
        items = from_schema(schema.get("items", {}))
        return st.lists(
            items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 4), 4)
        )
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return st.integers(min_value=low, max_value=schema.get("maximum", low + 10_000))
    if kind == "number":
        low = schema.get("minimum", 0.0)
        high = schema.get("maximum", 1e6)
        exclusive_low = "exclusiveMinimum" in schema
        return st.floats(
            min_value=schema.get("exclusiveMinimum", low),
            max_value=high,
            exclude_min=exclusive_low,
            allow_nan=False,
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise NotImplementedError(f"no strategy for schema {schema}")


def _object(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Schema] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = {name: from_schema(s) for name, s in properties.items() if name in required}
    optional = {name: from_schema(s) for name, s in properties.items() if name not in required}
    return st.fixed_dictionaries(fixed, optional=optional)


def _string(schema: Schema) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt in ("email", "idn-email"):
        return _address()
    if fmt == "date-time":
        moments = st.datetimes(
            min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
        )
        return moments.map(lambda m: m.isoformat())
    if fmt == "date":
        return st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31)).map(
            date.isoformat
        )
    if fmt == "uri":
        return st.sampled_from(
            ["https://bildung.example/konferenz?x=1&y=<2>", "https://xn--mller-kva.example/ä"]
        )
    if fmt == "uuid":
        return st.uuids().map(str)
    if fmt == "duration":
        return st.integers(min_value=60, max_value=30 * 86400).map(
            lambda s: _iso_duration(timedelta(seconds=s))
        )
    if "pattern" in schema:
        pattern: str = schema["pattern"]
        return st.from_regex(pattern, fullmatch=True).filter(
            lambda v: schema.get("minLength", 0) <= len(v) <= schema.get("maxLength", 10**6)
        )
    low, high = schema.get("minLength", 0), schema.get("maxLength", 500)
    return HOSTILE_TEXT.map(lambda text: text[:high]).filter(lambda text: len(text) >= low)


def _iso_duration(delta: timedelta) -> str:
    return f"PT{int(delta.total_seconds())}S"
