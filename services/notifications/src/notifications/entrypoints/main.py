"""`rbn-notifications`: run the notifications service (HTTP API, consumers, sender, reports)."""

from __future__ import annotations

from notifications.bootstrap import build
from notifications.settings import NotificationsSettings
from rbn_shared.http import serve
from rbn_shared.settings import settings_for_start


def main() -> None:
    # Refuses to start (exit 2, the variables on stderr) with settings production refuses.
    settings = settings_for_start(NotificationsSettings, "notifications")
    service = build(settings)
    serve(service.app, settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
