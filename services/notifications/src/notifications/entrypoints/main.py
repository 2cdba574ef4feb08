"""`rbn-notifications`: run the notifications service (HTTP API, consumers, sender, reports)."""

from __future__ import annotations

from notifications.bootstrap import build
from notifications.settings import NotificationsSettings
from rbn_shared.http import serve
from rbn_shared.logging import configure_logging


def main() -> None:
    settings = NotificationsSettings()
    configure_logging("notifications", settings.log_level, settings.log_format)
    service = build(settings)
    serve(service.app, settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
