"""The real servers the tests run against: local processes, or containers where Docker runs.

`RBN_TEST_INFRA` chooses: `local` (deploy/local/infra.sh, no Docker needed), `docker`
(testcontainers: Kafka, the real MongoDB image and Mailpit) or `auto` (the default: Docker when an
engine answers, else local).
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
from typing import Literal

REPO = Path(__file__).resolve().parents[2]
INFRA_SCRIPT = REPO / "deploy" / "local" / "infra.sh"

KAFKA_IMAGE = "apache/kafka:4.3.1"
MONGO_IMAGE = "mongo:7.0"
MAILPIT_IMAGE = "axllent/mailpit:v1.27.11"

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
    choice = env.get("RBN_TEST_INFRA", "auto").strip().lower()
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


@contextmanager
def docker_infra() -> Iterator[Infra]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with (
        KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka,
        MongoDbContainer(MONGO_IMAGE) as mongo,
        DockerContainer(MAILPIT_IMAGE).with_exposed_ports(1025, 8025) as mailpit,
    ):
        wait_for_logs(mailpit, "accessible via", timeout=60)
        _CONTAINERS.update(kafka=kafka, mongo=mongo, mailpit=mailpit)
        yield Infra(
            backend="docker",
            kafka_bootstrap=kafka.get_bootstrap_server(),
            mongo_url=mongo.get_connection_url(),
            smtp_host=mailpit.get_container_host_ip(),
            smtp_port=int(mailpit.get_exposed_port(1025)),
            mailpit_api=(
                f"http://{mailpit.get_container_host_ip()}:{mailpit.get_exposed_port(8025)}"
            ),
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
