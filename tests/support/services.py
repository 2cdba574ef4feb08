"""The three services as real OS processes, for end-to-end and fault tests."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.support.env import service_env
from tests.support.processes import Process

TOKENS = {
    "district-token": "district",
    "reader-token": "reader",
    "olpe-token": "office:kreis-olpe",
}
DISTRICT = {"Authorization": "Bearer district-token"}
# The twelve networks of the seed file, by id.
NETWORK_IDS = [
    "bochum",
    "dortmund",
    "hagen",
    "hamm",
    "herne",
    "ennepe-ruhr-kreis",
    "hochsauerlandkreis",
    "maerkischer-kreis",
    "kreis-olpe",
    "kreis-siegen-wittgenstein",
    "kreis-soest",
    "kreis-unna",
]
OLPE = {"Authorization": "Bearer olpe-token"}

MODULES = {
    "registry": "registry.entrypoints.main",
    "conferences": "conferences.entrypoints.main",
    "notifications": "notifications.entrypoints.main",
    "portal": "portal.entrypoints.main",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """One service as a process: started, waited for until ready, stopped, killed, restarted."""

    def __init__(
        self, name: str, isolated: Mapping[str, str], log_dir: Path, **settings: str
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prefix = name.upper() + "_"
        self.settings = {
            "HTTP_PORT": str(self.port),
            "AUTH_TOKENS": json.dumps(TOKENS),
            "PUBLIC_BASE_URL": self.url,
            "OUTBOX_POLL_SECONDS": "0.3",
            "LOG_LEVEL": "INFO",
            **settings,
        }
        self.isolated = dict(isolated)
        self.log_dir = log_dir
        self.process: Process | None = None

    def start(self, timeout: float = 60.0, **changed: str) -> ServiceProcess:
        return self.launch(**changed).wait_ready(timeout)

    def launch(self, **changed: str) -> ServiceProcess:
        """Start the process and return at once (several start side by side: `wait_ready`)."""
        self.settings.update(changed)
        # The token table above is for development only (production refuses it at start-up).
        env = {"RBN_ENVIRONMENT": "development"}
        env |= service_env(self.prefix, self.isolated, **self.settings)
        self.process = Process.python_module(
            self.name, MODULES[self.name], env=env, log_dir=self.log_dir
        ).start()
        return self

    def wait_ready(self, timeout: float = 60.0) -> ServiceProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready:\n{self.log[-3000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def restart(self, **changed: str) -> ServiceProcess:
        self.stop()
        self.settings.update(changed)
        return self.start()

    @property
    def log(self) -> str:
        return self.process.output if self.process else ""

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue
        return lines

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=15)


@contextlib.contextmanager
def running(
    services: list[ServiceProcess], registry_env: Mapping[str, str], log_dir: Path
) -> Iterator[None]:
    """Start the services, seed the twelve networks, and stop the services afterwards."""
    try:
        for service in services:
            service.launch()
        for service in services:
            service.wait_ready()
        seed = Process.python_module(
            "seed",
            "registry.entrypoints.main",
            "seed",
            env=service_env("REGISTRY_", registry_env),
            log_dir=log_dir,
        ).start()
        assert seed.wait(120) == 0, seed.output
        yield
    finally:
        for service in services:
            service.stop()
