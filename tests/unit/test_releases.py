"""Releases: one version number, each release's contract committed, the gate against the newest."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import jsonschema
import pytest

from rbn_shared.events.compatibility import compare_folders
from rbn_shared.events.export import (
    check_compatibility,
    cut_release,
    default_folder,
    load,
    main,
    project_version,
    released_versions,
    releases_folder,
    version_key,
    write,
)
from rbn_shared.events.schemas import all_schemas

REPO = Path(__file__).resolve().parents[2]
RELEASES = REPO / "contracts" / "releases"


def newest_release() -> str:
    versions = released_versions(RELEASES)
    assert versions, "no release in contracts/releases"
    return versions[-1]


# --- the committed releases ----------------------------------------------------------------------


def test_the_current_contract_is_compatible_with_the_newest_release() -> None:
    released = load(RELEASES / newest_release() / "events")
    assert compare_folders(released, all_schemas()) == []


def test_every_release_holds_valid_json_schemas() -> None:
    for version in released_versions(RELEASES):
        schemas = load(RELEASES / version / "events")
        assert schemas, f"release {version} has no event schemas"
        for schema in schemas.values():
            jsonschema.Draft202012Validator.check_schema(schema)


def test_the_project_has_one_version_and_it_is_released() -> None:
    """The root pyproject.toml's version is the project's; every member repeats it, the newest
    release folder and the CHANGELOG's newest release carry it."""
    version = project_version(REPO)
    with (REPO / "pyproject.toml").open("rb") as file:
        members = tomllib.load(file)["tool"]["uv"]["workspace"]["members"]
    for member in [path for pattern in members for path in sorted(REPO.glob(pattern))]:
        with (member / "pyproject.toml").open("rb") as file:
            assert tomllib.load(file)["project"]["version"] == version, member
    assert newest_release() == version
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.MULTILINE)
    assert headings[0] == version, "the CHANGELOG's newest release is not the project's version"


# --- cutting a release ---------------------------------------------------------------------------


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    """A contract folder matching the models, with an empty contracts/releases beside it."""
    folder = tmp_path / "contracts" / "events"
    write(folder)
    return folder


def test_a_release_copies_the_contract(contract: Path) -> None:
    assert cut_release(contract, "1.0.0") == 0
    released = releases_folder(contract) / "1.0.0" / "events"
    assert sorted(p.name for p in released.iterdir()) == sorted(all_schemas())
    for path in released.iterdir():
        assert path.read_bytes() == (contract / path.name).read_bytes()
    assert released_versions(releases_folder(contract)) == ["1.0.0"]


def test_a_release_is_never_rewritten_nor_followed_by_an_older_one(contract: Path) -> None:
    assert cut_release(contract, "1.2.0") == 0
    assert cut_release(contract, "1.2.0") == 1
    assert cut_release(contract, "1.1.9") == 1
    assert cut_release(contract, "1.10.0") == 0
    assert released_versions(releases_folder(contract)) == ["1.2.0", "1.10.0"]


def test_a_release_needs_a_version_and_a_contract_that_matches_the_models(contract: Path) -> None:
    assert cut_release(contract, "v1") == 1
    assert cut_release(contract, "1.0") == 1
    (contract / "network-registered.v1.schema.json").unlink()
    assert cut_release(contract, "1.0.0") == 1
    assert not releases_folder(contract).exists()


def test_a_release_that_breaks_the_previous_one_is_refused(contract: Path) -> None:
    assert cut_release(contract, "1.0.0") == 0
    break_release(contract, "1.0.0")
    assert cut_release(contract, "1.1.0") == 1
    assert released_versions(releases_folder(contract)) == ["1.0.0"]


def test_only_the_projects_version_is_released_from_the_command_line(contract: Path) -> None:
    other = f"{version_key(project_version(REPO))[0] + 1}.0.0"
    assert main(["--release", other, "--folder", str(contract)]) == 1
    assert main(["--release", "--folder", str(contract)]) == 0
    assert released_versions(releases_folder(contract)) == [project_version(REPO)]


def test_versions_sort_as_numbers_and_other_folders_are_no_releases(tmp_path: Path) -> None:
    for name in ("1.9.0", "1.10.0", "0.9.12", "drafts", "2.0.0-rc1"):
        (tmp_path / name / "events").mkdir(parents=True)
    (tmp_path / "3.0.0").mkdir()  # no events folder: not a release
    assert released_versions(tmp_path) == ["0.9.12", "1.9.0", "1.10.0"]
    with pytest.raises(ValueError, match=re.escape("MAJOR.MINOR.PATCH")):
        version_key("1.0")


# --- the gate ------------------------------------------------------------------------------------


def test_the_gate_compares_with_the_newest_release(contract: Path) -> None:
    args = ["--compatible-with-release", "--folder", str(contract)]
    assert main(args) == 0, "no release yet: nothing to break"
    assert cut_release(contract, "1.0.0") == 0
    assert cut_release(contract, "1.1.0") == 0
    assert main(args) == 0
    break_release(contract, "1.0.0")
    assert main(args) == 0, "only the newest release counts"
    break_release(contract, "1.1.0")
    assert main(args) == 1


def test_the_gate_compares_with_a_named_release(
    contract: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cut_release(contract, "1.0.0") == 0
    break_release(contract, "1.0.0")
    assert check_compatibility(contract, "1.0.0") == 1
    assert "network-registered.v1.schema.json: payload.motto: removed" in capsys.readouterr().err
    assert check_compatibility(contract, "0.9.0") == 1, "a missing release must not pass"


def test_the_committed_contract_passes_the_gate() -> None:
    assert check_compatibility(default_folder()) == 0


def break_release(contract: Path, version: str) -> None:
    """Give the release a field the models do not have, as if the models had removed it."""
    path = releases_folder(contract) / version / "events" / "network-registered.v1.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["$defs"]["NetworkRegistered"]["properties"]["motto"] = {"type": "string"}
    path.write_text(json.dumps(schema), encoding="utf-8")


def test_a_release_folder_survives_a_copy_of_the_repository(tmp_path: Path) -> None:
    """No git: the gate reads files, so an unpacked archive answers like the checkout."""
    copied = tmp_path / "contracts"
    shutil.copytree(REPO / "contracts", copied)
    assert check_compatibility(copied / "events") == 0
