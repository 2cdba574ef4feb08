"""Structured JSON logs with structlog, the correlation id bound per request or event.

The standard library's loggers (FastStream, aiokafka, uvicorn) go through the same renderer.
E-mail addresses and secrets are masked below DEBUG, so no address or token reaches the logs at
info level.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_SECRET_KEYS = re.compile(r"(pass(word)?|secret|token|authorization|api[_-]?key)", re.IGNORECASE)


def mask_email(text: str) -> str:
    """`anna.schmidt@schule.nrw.de` becomes `a***@schule.nrw.de`."""
    return _EMAIL.sub(r"\1***@\2", text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return mask_email(value)
    if isinstance(value, Mapping):
        return {k: "***" if _SECRET_KEYS.search(str(k)) else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_sensitive(
    _logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if method == "debug":
        return event_dict
    return {
        key: "***" if _SECRET_KEYS.search(key) else _redact(value)
        for key, value in event_dict.items()
    }


class _CurrentStandardError(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is when a record comes: a harness that swaps it (a test
    runner, a CLI runner) and closes the old one never leaves the logging writing into a closed
    stream."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _ignored: TextIO) -> None:
        pass


class RepeatsHeldBack(logging.Filter):
    """Lets through one record of a library's repeating complaint per `window` seconds: with
    the broker down, aiokafka says "Unable to update metadata" about two thousand times a
    second. The first is logged at once; the next one after the window says how many were
    held back in between. Records of the service's own loggers always pass."""

    def __init__(
        self,
        libraries: tuple[str, ...] = ("aiokafka", "kafka"),
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._libraries = libraries
        self._window = window
        self._clock = clock
        self._seen: dict[tuple[str, int, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] not in self._libraries:
            return True
        key = (record.name, record.levelno, record.msg)
        now = self._clock()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self._window:
            self._seen[key] = (last[0], last[1] + 1)
            return False
        held_back = last[1] if last is not None else 0
        self._seen[key] = (now, 0)
        if held_back:
            record.msg = f"{record.getMessage()} (and {held_back} more like it, held back)"
            record.args = None
        return True


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_sensitive,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _CurrentStandardError()
    handler.addFilter(RepeatsHeldBack())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that bring their own handlers (FastStream, uvicorn) log through ours instead.
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("faststream", "uvicorn"):
            library_logger = logging.getLogger(name)
            library_logger.handlers[:] = []
            library_logger.propagate = True
    for noisy in ("aiokafka", "pymongo", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind values (a correlation id, an event id) to every log line inside the block."""
    with structlog.contextvars.bound_contextvars(**values):
        yield
