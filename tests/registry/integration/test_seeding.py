"""Seeding never overwrites an operator's data (real FerretDB and Kafka).

`rbn-registry seed` (what `./dev up` and compose's `registry-seed` run at every start) creates
what is missing and leaves what exists as it is; `seed --apply-over-existing` replaces existing
networks with the file's values, only after a yes (or `--yes`).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from rbn_shared.changes import Cause
from rbn_shared.events.registry import OfficeContact
from registry.bootstrap import build
from registry.domain import commands
from registry.domain.model import NetworkDetails
from registry.entrypoints.main import DECLINED
from registry.seed.seeding import default_seed_file, differences, load_seed, seed
from registry.service_layer.services import RegistryService
from tests.registry.integration.conftest import settings_for
from tests.support.env import service_env
from tests.support.infra import REPO

pytestmark = pytest.mark.integration

PLACEHOLDER = "bildungsbuero@bochum.example"  # the seed file's
CORRECTED = "rbn@bochum.de.example"
SEED = [str(Path(sys.executable).parent / "rbn-registry"), "seed"]


def quiet(_line: str) -> None:
    pass


async def office_email(service: RegistryService, network_id: str = "bochum") -> str:
    return str((await service.network(network_id)).value.office.email)


async def correct_office_email(service: RegistryService, email: str = CORRECTED) -> None:
    """What an operator does through the API's PATCH /networks/bochum: the use case behind it."""
    current = await service.network("bochum")
    network = current.value
    office = OfficeContact(name=network.office.name, email=email)
    details = NetworkDetails(name=network.name, municipality=network.municipality, office=office)
    update = commands.UpdateNetwork("bochum", current.version, details)
    await service.update_network(update, cause=Cause("test-operator-correction"))


async def test_seeding_again_leaves_a_corrected_network_as_it_is(
    isolated: dict[str, str],
) -> None:
    wiring = build(settings_for(isolated))
    await wiring.prepare()
    service, data = wiring.service, load_seed(default_seed_file())
    try:
        first = await seed(service, data, progress=quiet)
        assert (first.created, first.left, first.agreements) == (12, 0, 12)
        assert first.district == "created"
        assert first.summary().startswith("created 12, left 0 as they were")

        await correct_office_email(service)
        version = (await service.network("bochum")).version
        district_version = (await service.district_coordination()).version

        again = await seed(service, data, progress=quiet)
        assert (again.created, again.left, again.updated, again.agreements) == (0, 12, 0, 0)
        assert again.district == "left as it was"
        assert again.summary().startswith("created 0, left 12 as they were")
        assert await office_email(service) == CORRECTED
        assert (await service.network("bochum")).version == version
        assert (await service.district_coordination()).version == district_version

        assert await differences(service, data) == ["bochum"]
        applied = await seed(service, data, progress=quiet, over_existing=True)
        assert (applied.created, applied.updated, applied.unchanged) == (0, 1, 11)
        assert applied.district == "as in the file"
        assert applied.summary().startswith("applied over existing data: created 0, updated 1")
        assert await office_email(service) == PLACEHOLDER
        assert await differences(service, data) == []
    finally:
        await wiring.runtime.client.close()


def run_seed(env: dict[str, str], *args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SEED, *args],
        cwd=REPO,
        env={**os.environ, **env},
        input=answer,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def on_registry(
    isolated: dict[str, str], change: Callable[[RegistryService], Awaitable[None]] | None
) -> str:
    """Bochum's office e-mail in the test's registry, after `change` if one is given."""

    async def run() -> str:
        wiring = build(settings_for(isolated))
        try:
            if change is not None:
                await change(wiring.service)
            return await office_email(wiring.service)
        finally:
            await wiring.runtime.client.close()

    return asyncio.run(run())


def test_the_seed_command_leaves_existing_data_and_applies_over_it_only_when_confirmed(
    isolated: dict[str, str],
) -> None:
    env = service_env("REGISTRY_", isolated)
    first = run_seed(env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Done: created 12, left 0 as they were" in first.stdout

    assert on_registry(isolated, correct_office_email) == CORRECTED
    again = run_seed(env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Done: created 0, left 12 as they were" in again.stdout
    assert on_registry(isolated, None) == CORRECTED

    declined = run_seed(env, "--apply-over-existing", answer="no\n")
    assert declined.returncode == DECLINED, declined.stdout + declined.stderr
    assert "networks: bochum" in declined.stdout
    assert "Not applied: nothing was changed." in declined.stdout
    no_answer = run_seed(env, "--apply-over-existing")  # no terminal, no answer: no
    assert no_answer.returncode == DECLINED, no_answer.stdout + no_answer.stderr
    assert on_registry(isolated, None) == CORRECTED

    applied = run_seed(env, "--apply-over-existing", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Done: applied over existing data: created 0, updated 1, 11 already" in applied.stdout
    assert on_registry(isolated, None) == PLACEHOLDER


def test_yes_goes_only_with_apply_over_existing() -> None:
    refused = run_seed({}, "--yes")
    assert refused.returncode == 2
    assert "--yes confirms --apply-over-existing" in refused.stderr
