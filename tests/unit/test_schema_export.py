"""The JSON Schemas under contracts/events are exactly what the models say."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from rbn_shared.events import CATALOGUE, new_event
from rbn_shared.events.export import default_folder, drift, main, write
from tests.unit.test_events import registered

REPO = Path(__file__).resolve().parents[2]


def test_exported_schemas_match_the_models() -> None:
    assert default_folder() == REPO / "contracts" / "events"
    assert drift(default_folder()) == [], "run `uv run rbn-export-schemas` and commit the result"


def test_check_reports_missing_stale_and_extra_files(tmp_path: Path) -> None:
    assert write(tmp_path) == len(CATALOGUE)
    assert drift(tmp_path) == []
    (tmp_path / "network-registered.v1.schema.json").unlink()
    stale = tmp_path / "conference-scheduled.v1.schema.json"
    stale.write_text(stale.read_text().replace('"title"', '"titel"'))
    (tmp_path / "network-exploded.v1.schema.json").write_text("{}")
    problems = drift(tmp_path)
    assert problems == [
        "stale:   conference-scheduled.v1.schema.json",
        "missing: network-registered.v1.schema.json",
        "extra:   network-exploded.v1.schema.json (no event of the catalogue has this name)",
    ]
    assert main(["--check", "--folder", str(tmp_path)]) == 1


def test_a_real_message_validates_against_its_exported_schema() -> None:
    envelope = new_event(
        registered(), key="bochum", aggregate_id="bochum", aggregate_version=1, correlation_id="c"
    )
    schema = json.loads((default_folder() / "network-registered.v1.schema.json").read_text())
    message = json.loads(envelope.to_wire())
    jsonschema.validate(message, schema, format_checker=jsonschema.FormatChecker())
    message["type"] = "network-updated"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(message, schema)
