"""Run project programs as separate OS processes and watch their output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.infra import REPO


class Process:
    """A child process whose combined output goes to a log file that tests can wait on."""

    def __init__(
        self, name: str, args: Sequence[str], env: Mapping[str, str], log_dir: Path
    ) -> None:
        self.name = name
        self.args = list(args)
        self.env = {**os.environ, **env}
        self.log_path = log_dir / f"{name}.log"
        self._popen: subprocess.Popen[bytes] | None = None

    @classmethod
    def python_module(
        cls, name: str, module: str, *args: str, env: Mapping[str, str], log_dir: Path
    ) -> Process:
        return cls(name, [sys.executable, "-m", module, *args], env, log_dir)

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            out.write(f"--- start {' '.join(self.args)}\n".encode())
            self._popen = subprocess.Popen(
                self.args, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for(self, text: str, timeout: float = 30.0, *, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.output.count(text) >= count:
                return
            if self._popen is not None and self._popen.poll() is not None:
                if self.output.count(text) >= count:
                    return
                raise AssertionError(
                    f"{self.name} exited ({self._popen.returncode}) before printing {text!r}:\n"
                    + self.output[-3000:]
                )
            time.sleep(0.1)
        raise AssertionError(
            f"{self.name} did not print {text!r} within {timeout}s:\n" + self.output[-3000:]
        )

    def wait(self, timeout: float = 60.0) -> int:
        assert self._popen is not None
        return self._popen.wait(timeout)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self._popen is not None and self._popen.poll() is None:
            self._popen.send_signal(sig)
            self._popen.wait(30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
