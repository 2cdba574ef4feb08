"""Export every event's JSON Schema into the repository, or check that the exported files match.

    rbn-export-schemas            write contracts/events/*.schema.json
    rbn-export-schemas --check    exit 1 if a file is missing, stale or left over
    rbn-export-schemas --compatible-with REF
                                  exit 1 if a schema changed incompatibly since git REF
                                  without a new event version (REF `auto`: main as it was
                                  before the newest four hours of commits)

Each schema describes the whole message as it is on the wire (see schemas.py, where they are made
from the models; this module only writes, compares and asks git).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rbn_shared.events.compatibility import compare_folders
from rbn_shared.events.schemas import all_schemas


def default_folder() -> Path:
    """contracts/events at the top of the repository this package was installed from."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "contracts").is_dir() or (parent / ".git").exists():
            return parent / "contracts" / "events"
    return Path.cwd() / "contracts" / "events"


def rendered() -> dict[str, str]:
    """File name to file content, for every event in the catalogue."""
    return {
        name: json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        for name, schema in all_schemas().items()
    }


def drift(folder: Path) -> list[str]:
    """What differs between the folder and the models, one readable line each."""
    expected = rendered()
    problems = []
    for name, content in sorted(expected.items()):
        path = folder / name
        if not path.exists():
            problems.append(f"missing: {name}")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"stale:   {name}")
    for path in sorted(folder.glob("*.schema.json")):
        if path.name not in expected:
            problems.append(f"extra:   {path.name} (no event of the catalogue has this name)")
    return problems


def write(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    expected = rendered()
    for path in folder.glob("*.schema.json"):
        if path.name not in expected:
            path.unlink()
    for name, content in expected.items():
        (folder / name).write_text(content, encoding="utf-8")
    return len(expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rbn-export-schemas", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare, change nothing")
    parser.add_argument("--folder", type=Path, default=None, help="default: contracts/events")
    parser.add_argument(
        "--compatible-with",
        metavar="REF",
        default=None,
        help="git revision to compare with, or `auto`",
    )
    args = parser.parse_args(argv)
    folder: Path = args.folder or default_folder()
    if args.compatible_with:
        return check_compatibility(folder, args.compatible_with)
    if args.check:
        problems = drift(folder)
        if problems:
            print(f"The event schemas in {folder} do not match the models:", file=sys.stderr)
            for line in problems:
                print("  " + line, file=sys.stderr)
            print("Run `uv run rbn-export-schemas` and commit the result.", file=sys.stderr)
            return 1
        print(f"{len(rendered())} event schemas in {folder} match the models.")
        return 0
    count = write(folder)
    print(f"wrote {count} event schemas to {folder}")
    return 0


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", *args],  # noqa: S607 - git from PATH, as every developer runs it
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def base_revision(repo: Path, ref: str) -> str:
    """`auto`: the newest commit older than four hours, i.e. main before the current work."""
    if ref != "auto":
        return _git("rev-parse", "--verify", ref + "^{commit}", cwd=repo).strip()
    older = _git("rev-list", "-1", "--before=4 hours ago", "HEAD", cwd=repo).strip()
    return older or _git("rev-list", "--max-parents=0", "HEAD", cwd=repo).split()[-1]


def schemas_at(repo: Path, revision: str, folder: Path) -> dict[str, dict[str, Any]]:
    relative = folder.resolve().relative_to(repo)
    names = _git("ls-tree", "--name-only", f"{revision}:{relative.as_posix()}", cwd=repo)
    return {
        name: json.loads(_git("show", f"{revision}:{relative.as_posix()}/{name}", cwd=repo))
        for name in names.split()
        if name.endswith(".schema.json")
    }


def check_compatibility(folder: Path, ref: str) -> int:
    repo = Path(_git("rev-parse", "--show-toplevel", cwd=folder.parent).strip())
    base = base_revision(repo, ref)
    try:
        old = schemas_at(repo, base, folder)
    except subprocess.CalledProcessError:
        print(f"No event schemas at {base[:12]} yet: nothing to be compatible with.")
        return 0
    new = {name: json.loads(content) for name, content in rendered().items()}
    problems = compare_folders(old, new)
    if problems:
        print(
            f"Incompatible event schema changes since {base[:12]} (raise the event's version):",
            file=sys.stderr,
        )
        for line in problems:
            print("  " + line, file=sys.stderr)
        return 1
    print(f"{len(new)} event schemas are compatible with {base[:12]}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
