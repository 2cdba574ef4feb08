"""`rbn-registry`: run the service (default) or seed it.

rbn-registry [serve]                          the HTTP API, the outbox relay
rbn-registry seed [--file PATH]               create the missing networks (of the twelve) and the
                                              district coordination; what exists stays as it is
rbn-registry seed --apply-over-existing [--yes]
                                              also replace existing networks and the district
                                              coordination with the file's values, after a yes
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rbn_shared.http import serve
from rbn_shared.kafka import ensure_project_topics
from rbn_shared.settings import settings_for_start
from registry.bootstrap import build, create_app
from registry.seed.seeding import default_seed_file, differences, load_seed, seed
from registry.settings import RegistrySettings

DECLINED = 1
"""The exit code of `seed --apply-over-existing` when the operator does not confirm."""


async def run_seed(
    settings: RegistrySettings,
    path: Path,
    *,
    over_existing: bool = False,
    confirmed: bool = False,
) -> None:
    """Seed from `path`. Over existing data only after a yes (asked here unless `confirmed`);
    without one, SystemExit(DECLINED) and nothing changed."""
    data = load_seed(path)
    wiring = build(settings)
    await ensure_project_topics(settings)
    await wiring.prepare()
    try:
        if over_existing and not confirmed:
            await _confirm(path, await differences(wiring.service, data))
        print(
            f"Seeding the registry from {path}"
            + (" over existing data" if over_existing else " (what exists stays as it is)")
        )
        report = await seed(wiring.service, data, over_existing=over_existing)
    finally:
        await wiring.runtime.client.close()
    print(f"Done: {report.summary()}. The running registry publishes the events.")


async def _confirm(path: Path, changed: list[str]) -> None:
    networks = [name for name in changed if name != "district"]
    print(f"Applying {path} over existing data replaces what differs with the file's values:")
    print(f"  networks: {', '.join(networks) if networks else 'none differs'}")
    print(
        "  district coordination: "
        + ("differs" if "district" in changed else "as in the file, or not set yet")
    )
    print("Corrections made since (an office's address, say) are lost; events announce them.")
    try:
        answer = await asyncio.to_thread(input, "Apply the file over existing data? [yes/no] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("Not applied: nothing was changed.")
        raise SystemExit(DECLINED)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rbn-registry", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the HTTP API and the outbox relay (default)")
    seed_parser = sub.add_parser(
        "seed",
        help="create the missing networks and district coordination; leave what exists as it is",
    )
    seed_parser.add_argument("--file", type=Path, default=None)
    seed_parser.add_argument(
        "--apply-over-existing",
        action="store_true",
        help="also replace existing networks and the district coordination with the file's "
        "values (asks for confirmation)",
    )
    seed_parser.add_argument(
        "--yes", action="store_true", help="with --apply-over-existing: do not ask (scripts)"
    )
    args = parser.parse_args(argv)
    if args.command == "seed" and args.yes and not args.apply_over_existing:
        parser.error("--yes confirms --apply-over-existing and goes only with it")

    # Refuses to start (exit 2, the variables on stderr) with settings production refuses.
    settings = settings_for_start(RegistrySettings, "registry")
    if args.command == "seed":
        asyncio.run(
            run_seed(
                settings,
                args.file or default_seed_file(),
                over_existing=args.apply_over_existing,
                confirmed=args.yes,
            )
        )
        return
    serve(create_app(settings), settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
