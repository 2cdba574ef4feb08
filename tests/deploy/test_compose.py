"""docker-compose.yml and docker-compose.scale.yml as data: valid against the Compose
specification, complete and documented, without a Docker engine (the Compose specification's
JSON Schema as shipped by check-jsonschema, and the rules operators rely on). test_compose_run.py
runs them for real.
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
SCALE = REPO / "docker-compose.scale.yml"
ENV_EXAMPLE = REPO / ".env.example"
INFRA = REPO / "deploy" / "local" / "infra.sh"
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")
DEFAULT = re.compile(r"^\$\{[A-Z_]+:-(?P<default>[^}]+)\}$")


class ComposeLoader(yaml.SafeLoader):
    """YAML with Compose's merge tag `!reset`, which empties what the file below set."""


ComposeLoader.add_constructor("!reset", lambda loader, node: None)


def load(path: Path) -> dict[str, Any]:
    """The file, with what `!reset` empties left out, as Compose reads it."""
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=ComposeLoader)  # noqa: S506
    loaded["services"] = {
        name: {key: value for key, value in service.items() if value is not None}
        for name, service in loaded["services"].items()
    }
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE)


@pytest.fixture(scope="module")
def scale() -> dict[str, Any]:
    return load(SCALE)


def default_image(image: str) -> str:
    """The official image a compose variable defaults to: ${KAFKA_IMAGE:-apache/kafka:4.3.1}."""
    found = DEFAULT.match(image)
    assert found, f"{image} is not named through a variable with the official default"
    return found["default"]


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


def test_the_cluster_file_is_valid_against_the_compose_specification(
    scale: dict[str, Any],
) -> None:
    jsonschema.validate(scale, compose_spec_schema())


def test_an_invalid_file_would_be_caught() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"services": {"x": {"restart": 7}}}, compose_spec_schema())


def test_every_dependency_exists_and_waits_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            one_shot = services[dependency].get("restart") == "no"
            expected = "service_completed_successfully" if one_shot else "service_healthy"
            assert condition["condition"] == expected, f"{name} -> {dependency}"


def test_every_long_running_service_has_a_healthcheck_and_restart_policy(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        if service.get("restart") == "no":
            continue  # one-shot jobs such as the seed
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_the_three_services_run_and_the_cluster_adds_nodes_and_instances(
    compose: dict[str, Any], scale: dict[str, Any]
) -> None:
    services = compose["services"]
    commands = {tuple(s.get("command", ())) for s in services.values()}
    for program in ("rbn-registry", "rbn-conferences", "rbn-notifications"):
        assert (program,) in commands
    added = set(scale["services"]) - set(services)
    assert added == {
        "kafka-2",
        "kafka-3",
        "mongo-2",
        "mongo-3",
        "registry-2",
        "conferences-2",
        "notifications-2",
    }
    assert set(compose["volumes"]) >= {"kafka-data", "mongo-data", "mailpit-data"}


def test_the_cluster_replicates_three_times_and_needs_two_in_sync(scale: dict[str, Any]) -> None:
    nodes = ("kafka", "kafka-2", "kafka-3")
    for node in nodes:
        env = scale["services"][node]["environment"]
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == 2
    for service in ("registry", "conferences", "notifications"):
        for instance in (service, f"{service}-2"):
            env = scale["services"][instance]["environment"]
            assert env[f"{service.upper()}_TOPIC_REPLICATION_FACTOR"] == 3
            assert "replicaSet=rs0" in env[f"{service.upper()}_MONGO_URL"]
    # MongoDB: three members, the first initiating the set with all three.
    initiate = " ".join(scale["services"]["mongo"]["healthcheck"]["test"])
    for member in ("mongo:27017", "mongo-2:27017", "mongo-3:27017"):
        assert member in initiate


def test_every_variable_is_documented_in_env_example() -> None:
    used = set(VARIABLE.findall(COMPOSE.read_text() + SCALE.read_text()))
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
    images = {
        n: default_image(s["image"]) for n, s in compose["services"].items() if "build" not in s
    }
    assert images["kafka"] == f"apache/kafka:{kafka.group(1)}"
    assert images["mailpit"] == f"axllent/mailpit:{mailpit.group(1)}"
    assert images["mongo"] == "mongo:7.0"
    for name, image in images.items():
        assert ":" in image, f"{name} is not pinned"
        assert not image.endswith(":latest"), f"{name} is not pinned"


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    # The base is a build argument (the compose test builds on a stand-in); its default is the
    # official slim image.
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)", dockerfile, re.MULTILINE))
    assert defaults["PYTHON_IMAGE"] == "python:3.11-slim"
    stages = [
        re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], stage)
        for stage in re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    ]
    assert len(stages) >= 2
    assert all("slim" in stage for stage in stages)
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")
