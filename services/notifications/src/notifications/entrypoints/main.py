"""`rbn-notifications`: run the notifications service (HTTP API, consumers, sender, reports)."""

from __future__ import annotations

import uvicorn

from notifications.bootstrap import build
from notifications.settings import NotificationsSettings
from rbn_shared.logging import configure_logging


def main() -> None:
    settings = NotificationsSettings()
    configure_logging("notifications", settings.log_level, settings.log_format)
    service = build(settings)
    uvicorn.run(
        service.app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep the structured logging configured above
        access_log=False,  # request lines would show unsubscribe tokens in their query
    )


if __name__ == "__main__":
    main()
