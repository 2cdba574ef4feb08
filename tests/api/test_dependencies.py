"""Every dependency of every route is a coroutine: FastAPI runs a plain `def` dependency in a
worker thread, a hand-off that cost the registry about a tenth of its CPU per request."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.api.test_openapi_conformance import APPS
from tests.support.infra import Infra

pytestmark = pytest.mark.integration


def _routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """The API routes, also those of included routers (FastAPI keeps them apart)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _awaited(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 - a callable instance (HTTPBearer)
    )


@pytest.mark.parametrize("service", list(APPS))
def test_no_route_hands_a_dependency_to_a_worker_thread(
    service: str, isolated: dict[str, str], infra: Infra
) -> None:
    app = APPS[service]({**isolated, "RBN_MONGO_DATABASE": f"{isolated['RBN_MONGO_DATABASE']}_d"})
    routes = list(_routes(app.routes))
    assert len(routes) > 5
    threaded = {
        f"{route.path}: {getattr(call, '__qualname__', call)}"
        for route in routes
        for call in _calls(route.dependant)
        if call is not None and not _awaited(call)
    }
    assert threaded == set()
