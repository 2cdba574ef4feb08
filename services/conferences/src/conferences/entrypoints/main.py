"""`rbn-conferences`: run the service, or rebuild its network projection from the registry topic.

rbn-conferences                      serve HTTP, consume registry events, send reminders
rbn-conferences rebuild-projection   empty the projection and replay the registry topic
"""

from __future__ import annotations

import argparse
import asyncio

from conferences.bootstrap import SERVICE, build
from conferences.service_layer.rebuild import rebuild_projection
from conferences.settings import ConferencesSettings
from rbn_shared.http import serve
from rbn_shared.logging import get_logger
from rbn_shared.settings import settings_for_start

log = get_logger(__name__)


def main() -> None:
    parser = argparse.ArgumentParser(prog="rbn-conferences", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "rebuild-projection"]
    )
    args = parser.parse_args()
    # Refuses to start (exit 2, the variables on stderr) with settings production refuses.
    settings = settings_for_start(ConferencesSettings, SERVICE)
    if args.command == "rebuild-projection":
        print(asyncio.run(rebuild_projection(settings)), flush=True)
        return
    wiring = build(settings)
    serve(wiring.app, settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
