"""A second, real Mailpit with settings of its own, for tests that need the SMTP server to refuse
some recipients (`--smtp-allowed-recipients`: every other address gets 550 at RCPT TO)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.infra import INFRA_SCRIPT, MAILPIT_IMAGE, Infra, port_open
from tests.support.processes import Process
from tests.support.services import free_port


@dataclass(frozen=True)
class SmtpSink:
    smtp_host: str
    smtp_port: int
    api: str


@contextmanager
def strict_mailpit(infra: Infra, allowed_recipients: str, work: Path) -> Iterator[SmtpSink]:
    """Mailpit that accepts only recipients matching the regular expression (RE2)."""
    flags = ["--smtp-allowed-recipients", allowed_recipients, "--disable-version-check"]
    if infra.backend == "docker":
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs

        container = DockerContainer(MAILPIT_IMAGE).with_exposed_ports(1025, 8025)
        with container.with_command(" ".join(flags)) as mailpit:
            wait_for_logs(mailpit, "accessible via", timeout=60)
            host = mailpit.get_container_host_ip()
            yield SmtpSink(
                host,
                int(mailpit.get_exposed_port(1025)),
                f"http://{host}:{mailpit.get_exposed_port(8025)}",
            )
        return
    binary = subprocess.run(
        [str(INFRA_SCRIPT), "bin", "mailpit"], check=True, capture_output=True, text=True
    ).stdout.strip()
    smtp, http = free_port(), free_port()
    args = [binary, "--smtp", f"127.0.0.1:{smtp}", "--listen", f"127.0.0.1:{http}"]
    args += ["--database", str(work / "mailpit.db"), *flags]
    process = Process("strict-mailpit", args, env={}, log_dir=work).start()
    try:
        deadline = time.monotonic() + 30
        while not (port_open(smtp) and port_open(http)):
            assert time.monotonic() < deadline, process.output[-2000:]
            time.sleep(0.1)
        yield SmtpSink("127.0.0.1", smtp, f"http://127.0.0.1:{http}")
    finally:
        process.stop()
