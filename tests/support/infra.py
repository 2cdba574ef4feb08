"""The real servers the tests run against: local processes, or containers.

`RBN_TEST_INFRA` chooses: `local` (the default: deploy/local/infra.sh, no Docker needed),
`docker` (testcontainers, on the images `deploy/docker/engine.sh images` builds here: Kafka from
the same Maven jars, FerretDB as the stand-in for MongoDB, Mailpit) or `auto` (Docker when an
engine answers, else local). Each image can be named otherwise with RBN_TEST_KAFKA_IMAGE,
RBN_TEST_MONGO_IMAGE and RBN_TEST_MAILPIT_IMAGE (the official `mongo:7.0` works as well, where it
can be had).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

REPO = Path(__file__).resolve().parents[2]
INFRA_SCRIPT = REPO / "deploy" / "local" / "infra.sh"

KAFKA_IMAGE = os.environ.get("RBN_TEST_KAFKA_IMAGE", "rbn-local/kafka:4.3.1")
MONGO_IMAGE = os.environ.get("RBN_TEST_MONGO_IMAGE", "rbn-local/ferretdb:1.24.2")
MAILPIT_IMAGE = os.environ.get("RBN_TEST_MAILPIT_IMAGE", "rbn-local/mailpit:v1.27.11")

Backend = Literal["local", "docker"]


@dataclass(frozen=True)
class Infra:
    backend: Backend
    kafka_bootstrap: str
    mongo_url: str
    smtp_host: str
    smtp_port: int
    mailpit_api: str


def choose_backend(env: Mapping[str, str], docker_reachable: Callable[[], bool]) -> Backend:
    choice = env.get("RBN_TEST_INFRA", "local").strip().lower()
    if choice == "local":
        return "local"
    if choice == "docker":
        if not docker_reachable():
            raise RuntimeError("RBN_TEST_INFRA=docker, but no Docker engine answers")
        return "docker"
    if choice == "auto":
        return "docker" if docker_reachable() else "local"
    raise ValueError(f"RBN_TEST_INFRA must be local, docker or auto, not {choice!r}")


def docker_reachable() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


LOCAL_PARTS = {"kafka": 9092, "ferretdb": 27017, "mailpit": 1025}
_CONTAINERS: dict[str, object] = {}  # the docker backend's containers, for restarts


@contextmanager
def local_infra() -> Iterator[Infra]:
    """Start the parts that do not run yet; stop only those again afterwards."""
    started = [part for part, port in LOCAL_PARTS.items() if not port_open(port)]
    if started:
        subprocess.run([str(INFRA_SCRIPT), "start", *started], check=True)
    try:
        yield Infra(
            backend="local",
            kafka_bootstrap="127.0.0.1:9092",
            mongo_url="mongodb://127.0.0.1:27017",
            smtp_host="127.0.0.1",
            smtp_port=1025,
            mailpit_api="http://127.0.0.1:8025",
        )
    finally:
        if started and os.environ.get("RBN_TEST_KEEP_INFRA") != "1":
            subprocess.run([str(INFRA_SCRIPT), "stop", *started], check=False)


def kafka_container(host_port: int) -> DockerContainer:
    """One combined KRaft node. testcontainers' Kafka module accepts only Confluent's images, so
    a generic container, configured as the official apache/kafka image is: it advertises the
    port published on the host, fixed beforehand, so that clients outside reach it."""
    from testcontainers.core.container import DockerContainer

    settings = {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{host_port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "CLUSTER_ID": "rbnTestKafkaCluster01A",
    }
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    started = LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(90)
    container = DockerContainer(KAFKA_IMAGE).with_bind_ports(9092, host_port).waiting_for(started)
    for name, value in settings.items():
        container = container.with_env(name, value)
    return container


def _wait_until(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready within {timeout:.0f} s")
        time.sleep(0.5)


def _database_answers(port: int) -> bool:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient[dict[str, object]] = MongoClient(
        f"mongodb://127.0.0.1:{port}", serverSelectionTimeoutMS=1000
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _mailpit_answers(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/v1/info", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def docker_infra() -> Iterator[Infra]:
    # Ryuk, testcontainers' reaper, is an image from Docker Hub, which is out of reach here; the
    # containers are removed by the `with` below instead (a killed test run leaves them: `docker
    # ps` shows them by their images).
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    from testcontainers.core.container import DockerContainer

    from tests.support.services import free_port

    # Every port is published at a fixed host port chosen beforehand, so that a container
    # restarted by a fault test comes back where the services look for it.
    kafka_port, mongo_port, smtp_port, api_port = (free_port() for _ in range(4))
    with (
        kafka_container(kafka_port) as kafka,
        DockerContainer(MONGO_IMAGE).with_bind_ports(27017, mongo_port) as mongo,
        DockerContainer(MAILPIT_IMAGE)
        .with_bind_ports(1025, smtp_port)
        .with_bind_ports(8025, api_port) as mailpit,
    ):
        # A published port accepts connections before the server inside does: ask the servers.
        _wait_until("the database", lambda: _database_answers(mongo_port), 60)
        _wait_until("Mailpit", lambda: _mailpit_answers(api_port), 60)
        _CONTAINERS.update(kafka=kafka, mongo=mongo, mailpit=mailpit)
        yield Infra(
            backend="docker",
            kafka_bootstrap=f"127.0.0.1:{kafka_port}",
            mongo_url=f"mongodb://127.0.0.1:{mongo_port}",
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            mailpit_api=f"http://127.0.0.1:{api_port}",
        )


def restart(infra: Infra, part: str, down_seconds: float = 0.0) -> None:
    """Stop one server (kafka, ferretdb or mailpit), keep it down a while, start it again."""
    if infra.backend == "local":
        subprocess.run([str(INFRA_SCRIPT), "stop", part], check=True)
        time.sleep(down_seconds)
        subprocess.run([str(INFRA_SCRIPT), "start", part], check=True)
        return
    container = _CONTAINERS[{"ferretdb": "mongo"}.get(part, part)].get_wrapped_container()  # type: ignore[attr-defined]
    container.stop()
    time.sleep(down_seconds)
    container.start()


@contextmanager
def real_infra() -> Iterator[Infra]:
    backend = choose_backend(os.environ, docker_reachable)
    with docker_infra() if backend == "docker" else local_infra() as infra:
        yield infra
