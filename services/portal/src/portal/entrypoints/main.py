"""`rbn-portal`: the staff portal's web application."""

from __future__ import annotations

from portal.bootstrap import build
from portal.settings import PortalSettings
from rbn_shared.http import serve
from rbn_shared.settings import settings_for_start


def main() -> None:
    settings = settings_for_start(PortalSettings, "portal")
    serve(build(settings), settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
