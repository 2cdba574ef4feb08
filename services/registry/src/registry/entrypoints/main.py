"""`rbn-registry`: run the service (default) or seed it.

rbn-registry [serve]              the HTTP API, the outbox relay
rbn-registry seed [--file PATH]   the twelve networks and the district coordination
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rbn_shared.http import serve
from rbn_shared.kafka import ensure_project_topics
from rbn_shared.logging import configure_logging
from registry.bootstrap import build, create_app
from registry.seed.seeding import default_seed_file, load_seed, seed
from registry.settings import RegistrySettings


async def run_seed(settings: RegistrySettings, path: Path) -> None:
    wiring = build(settings)
    await ensure_project_topics(settings)
    await wiring.prepare()
    print(f"Seeding the registry from {path}")
    try:
        counts = await seed(wiring.service, load_seed(path))
    finally:
        await wiring.runtime.client.close()
    print(
        f"Done: {counts['registered']} registered, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {counts['agreements']} agreements signed. "
        "The running registry publishes the events."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rbn-registry", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the HTTP API and the outbox relay (default)")
    seed_parser = sub.add_parser("seed", help="register the twelve networks, idempotently")
    seed_parser.add_argument("--file", type=Path, default=None)
    args = parser.parse_args(argv)

    settings = RegistrySettings()
    configure_logging("registry", settings.log_level, settings.log_format)
    if args.command == "seed":
        asyncio.run(run_seed(settings, args.file or default_seed_file()))
        return
    serve(create_app(settings), settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
