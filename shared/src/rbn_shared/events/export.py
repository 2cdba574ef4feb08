"""Export every event's JSON Schema into the repository, check the exported files, cut releases.

    rbn-export-schemas            write contracts/events/*.schema.json
    rbn-export-schemas --check    exit 1 if a file is missing, stale or left over
    rbn-export-schemas --compatible-with-release [VERSION]
                                  exit 1 if a schema changed incompatibly since the release
                                  (default: the newest in contracts/releases/)
    rbn-export-schemas --release [VERSION]
                                  cut a release: copy contracts/events to
                                  contracts/releases/VERSION/events (default and only allowed
                                  VERSION: the project's, from the root pyproject.toml)

Each schema describes the whole message as it is on the wire (see schemas.py, where they are made
from the models; this module writes, compares and copies files). The gate compares with the last
release's committed contract because that is what subscribers hold, and it needs no git history:
a shallow clone or an unpacked archive gives the same answer as a full checkout.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

from rbn_shared.events.compatibility import compare_folders
from rbn_shared.events.schemas import all_schemas

NEWEST = "newest"
_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def repository_root() -> Path:
    """The top of the repository this package was installed from (editable, as in development)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "contracts").is_dir() or (parent / ".git").exists():
            return parent
    return Path.cwd()


def default_folder() -> Path:
    """contracts/events at the top of the repository."""
    return repository_root() / "contracts" / "events"


def releases_folder(folder: Path) -> Path:
    """contracts/releases beside the contract folder: one folder per released version."""
    return folder.parent / "releases"


def project_version(root: Path) -> str:
    """The project's one version number: the root pyproject.toml's (the members repeat it)."""
    with (root / "pyproject.toml").open("rb") as file:
        version: str = tomllib.load(file)["project"]["version"]
    return version


def version_key(version: str) -> tuple[int, int, int]:
    """MAJOR.MINOR.PATCH as numbers, so 1.10.0 sorts after 1.9.0; anything else is refused."""
    match = _SEMVER.fullmatch(version)
    if match is None:
        raise ValueError(f"{version!r} is not a version MAJOR.MINOR.PATCH")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def released_versions(releases: Path) -> list[str]:
    """The released versions, oldest first; folders not named by a version are not releases."""
    if not releases.is_dir():
        return []
    found = [p.name for p in releases.iterdir() if (p / "events").is_dir()]
    return sorted((v for v in found if _SEMVER.fullmatch(v)), key=version_key)


def load(folder: Path) -> dict[str, dict[str, Any]]:
    """File name to schema, for the schema files of one folder."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*.schema.json"))
    }


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
    parser.add_argument("--folder", type=Path, default=None, help="default: contracts/events")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only compare, change nothing")
    mode.add_argument(
        "--compatible-with-release",
        metavar="VERSION",
        nargs="?",
        const=NEWEST,
        default=None,
        help="compare the models with a release's contract (default: the newest release)",
    )
    mode.add_argument(
        "--release",
        metavar="VERSION",
        nargs="?",
        const="",
        default=None,
        help="copy the contract into contracts/releases/VERSION (the project's version)",
    )
    args = parser.parse_args(argv)
    folder: Path = args.folder or default_folder()
    if args.compatible_with_release is not None:
        return check_compatibility(folder, args.compatible_with_release)
    if args.release is not None:
        return release_project(folder, args.release)
    if args.check:
        return check(folder)
    count = write(folder)
    print(f"wrote {count} event schemas to {folder}")
    return 0


def check(folder: Path) -> int:
    problems = drift(folder)
    if problems:
        print(f"The event schemas in {folder} do not match the models:", file=sys.stderr)
        for line in problems:
            print("  " + line, file=sys.stderr)
        print("Run `uv run rbn-export-schemas` and commit the result.", file=sys.stderr)
        return 1
    print(f"{len(rendered())} event schemas in {folder} match the models.")
    return 0


def check_compatibility(folder: Path, version: str = NEWEST) -> int:
    """The gate: the models' schemas against a release's committed contract. A named release
    that is missing is an error (a typo must not pass); no release at all is nothing to break."""
    releases = releases_folder(folder)
    versions = released_versions(releases)
    if version == NEWEST:
        if not versions:
            print(f"No release in {releases} yet: nothing to be compatible with.")
            return 0
        version = versions[-1]
    elif version not in versions:
        print(
            f"No release {version} in {releases} (there are: {versions or 'none'}).",
            file=sys.stderr,
        )
        return 1
    new = {name: json.loads(content) for name, content in rendered().items()}
    problems = compare_folders(load(releases / version / "events"), new)
    if problems:
        print(
            f"Incompatible event schema changes since release {version} (raise the event's"
            " version: add the changed event as a new version beside the old one):",
            file=sys.stderr,
        )
        for line in problems:
            print("  " + line, file=sys.stderr)
        return 1
    print(f"{len(new)} event schemas are compatible with release {version}.")
    return 0


def release_project(folder: Path, version: str) -> int:
    """`--release`: the version is the project's, so one number names the packages, the images
    and the contract; bump the pyproject.toml files and the CHANGELOG first."""
    expected = project_version(repository_root())
    if version and version != expected:
        print(
            f"The project's version is {expected} (pyproject.toml), not {version}: set the version"
            " in every pyproject.toml and the CHANGELOG first.",
            file=sys.stderr,
        )
        return 1
    return cut_release(folder, version or expected)


def cut_release(folder: Path, version: str) -> int:
    """Copy the contract into contracts/releases/VERSION/events. Refused when the contract does
    not match the models, the version is taken or not newer than the newest release (a release
    is never rewritten: subscribers hold it), or the contract breaks the newest release."""
    refusal = _refusal(folder, version)
    if refusal:
        print(f"No release {version}: {refusal}", file=sys.stderr)
        return 1
    if check_compatibility(folder) != 0:
        return 1
    target = releases_folder(folder) / version / "events"
    target.mkdir(parents=True)
    for path in sorted(folder.glob("*.schema.json")):
        shutil.copyfile(path, target / path.name)
    print(f"released {version}: {len(list(target.iterdir()))} event schemas in {target}")
    return 0


def _refusal(folder: Path, version: str) -> str | None:
    if not _SEMVER.fullmatch(version):
        return "a version is MAJOR.MINOR.PATCH"
    if drift(folder):
        return f"the event schemas in {folder} do not match the models (run rbn-export-schemas)"
    versions = released_versions(releases_folder(folder))
    if (releases_folder(folder) / version).exists():
        return "that release exists already, and a release is never rewritten"
    if versions and version_key(version) <= version_key(versions[-1]):
        return f"it is not newer than the newest release, {versions[-1]}"
    return None


if __name__ == "__main__":
    sys.exit(main())
