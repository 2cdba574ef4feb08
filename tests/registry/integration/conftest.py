"""A registry app per test module, in-process, against the real FerretDB and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from registry.bootstrap import create_app
from registry.seed.seeding import default_seed_file, load_seed, seed
from registry.service_layer.privacy import PrivacyService
from registry.service_layer.services import RegistryService
from registry.settings import RegistrySettings
from tests.support.infra import Infra

TOKENS = {
    "district-token": "district",
    "bochum-token": "office:bochum",
    "hagen-token": "office:hagen",
    "reader-token": "reader",
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class RegistryUnderTest:
    http: httpx.AsyncClient
    service: RegistryService
    settings: RegistrySettings
    bootstrap: str
    privacy: PrivacyService

    @property
    def topic(self) -> str:
        return self.settings.topics.registry


def settings_for(isolated: dict[str, str]) -> RegistrySettings:
    return RegistrySettings(
        kafka_bootstrap_servers=isolated["RBN_KAFKA_BOOTSTRAP_SERVERS"],
        mongo_url=isolated["RBN_MONGO_URL"],
        mongo_database=isolated["RBN_MONGO_DATABASE"],
        topic_prefix=isolated["RBN_TOPIC_PREFIX"],
        auth_tokens=TOKENS,
        outbox_poll_seconds=0.2,
    )


@pytest.fixture(scope="module")
async def registry(
    isolated_module: dict[str, str], infra: Infra
) -> AsyncIterator[RegistryUnderTest]:
    settings = settings_for(isolated_module)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        service: RegistryService = app.state.service
        await seed(service, load_seed(default_seed_file()), progress=lambda _: None)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
            yield RegistryUnderTest(
                http, service, settings, infra.kafka_bootstrap, app.state.privacy
            )
