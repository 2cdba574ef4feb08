"""docker-compose.yml: valid against the Compose specification, complete and documented.

No Docker engine runs here, so the file is checked as data: the Compose specification's JSON
Schema (as shipped by check-jsonschema), and the rules operators rely on.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
INFRA = REPO / "deploy" / "local" / "infra.sh"
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def compose_spec_schema() -> dict[str, Any]:
    text = (
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    jsonschema.validate(compose, compose_spec_schema())


def test_an_invalid_file_would_be_caught() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"services": {"x": {"restart": 7}}}, compose_spec_schema())


def test_every_dependency_exists_and_waits_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert condition["condition"] == "service_healthy", f"{name} -> {dependency}"


def test_every_long_running_service_has_a_healthcheck_and_restart_policy(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        if service.get("restart") == "no":
            continue  # one-shot jobs such as the seed
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_the_three_services_run_and_scale_adds_brokers_and_instances(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    commands = {tuple(s.get("command", ())) for s in services.values()}
    for program in ("rbn-registry", "rbn-conferences", "rbn-notifications"):
        assert (program,) in commands
    scale = {n for n, s in services.items() if "scale" in s.get("profiles", ())}
    assert scale == {"kafka-2", "kafka-3", "conferences-2", "notifications-2"}
    assert set(compose["volumes"]) >= {"kafka-data", "mongo-data", "mailpit-data"}


def test_every_variable_is_documented_in_env_example() -> None:
    used = set(VARIABLE.findall(COMPOSE.read_text()))
    documented = {
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert used, "the compose file takes its configuration from variables"
    assert used - documented == set(), "document these in .env.example"


def test_images_are_pinned_to_the_versions_the_local_setup_runs(compose: dict[str, Any]) -> None:
    infra = INFRA.read_text()
    kafka = re.search(r"^KAFKA_VERSION=(\S+)", infra, re.MULTILINE)
    mailpit = re.search(r"^MAILPIT_VERSION=(\S+)", infra, re.MULTILINE)
    assert kafka is not None
    assert mailpit is not None
    images = {n: s["image"] for n, s in compose["services"].items() if "build" not in s}
    assert images["kafka"] == f"apache/kafka:{kafka.group(1)}"
    assert images["mailpit"] == f"axllent/mailpit:{mailpit.group(1)}"
    for name, image in images.items():
        assert ":" in image, f"{name} is not pinned"
        assert not image.endswith(":latest"), f"{name} is not pinned"


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert len(stages) >= 2
    assert all("slim" in stage for stage in stages)
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")
