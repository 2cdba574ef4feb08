"""Each event's JSON Schema, from its model: the whole message as it is on the wire, the envelope
with its `type` and `version` fixed and its `payload` typed.

Pure: no files, no processes. The services use it to describe what they publish (AsyncAPI);
`rbn-export-schemas` (export.py) writes and checks the files in contracts/events.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import create_model

from rbn_shared.events.catalogue import CATALOGUE, EventSpec
from rbn_shared.events.envelope import Envelope

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def file_name(spec: EventSpec) -> str:
    return f"{spec.event_type}.v{spec.version}.schema.json"


def typed_envelope(spec: EventSpec) -> type[Envelope]:
    """The envelope of one event type, with `type` and `version` fixed and `payload` typed."""
    fixed_type: Any = Literal[spec.event_type]
    fixed_version: Any = Literal[spec.version]
    message = create_model(
        spec.model.__name__ + "Event",
        __base__=Envelope,
        __doc__=(spec.model.__doc__ or "").strip() or f"The `{spec.event_type}` event.",
        type=(fixed_type, ...),
        version=(fixed_version, ...),
        payload=(spec.model, ...),
    )
    return message


def schema_of(spec: EventSpec) -> dict[str, Any]:
    schema: dict[str, Any] = typed_envelope(spec).model_json_schema(mode="serialization")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"urn:rbn-arnsberg:event:{spec.event_type}:v{spec.version}",
        "x-producer": spec.producer,
        **schema,
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name to schema, for every event in the catalogue."""
    return {file_name(spec): schema_of(spec) for spec in CATALOGUE.values()}
