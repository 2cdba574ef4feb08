"""Which servers the tests use: local processes or containers."""

from __future__ import annotations

import pytest

from tests.support.infra import choose_backend


def yes() -> bool:
    return True


def no() -> bool:
    return False


@pytest.mark.parametrize(
    ("env", "docker", "expected"),
    [
        ({}, no, "local"),
        # A Docker engine that happens to run (the compose test starts one) changes nothing
        # unless asked for: the default is the local servers.
        ({}, yes, "local"),
        ({"RBN_TEST_INFRA": "auto"}, yes, "docker"),
        ({"RBN_TEST_INFRA": "auto"}, no, "local"),
        ({"RBN_TEST_INFRA": "local"}, yes, "local"),
        ({"RBN_TEST_INFRA": " Docker "}, yes, "docker"),
        ({"RBN_TEST_INFRA": "local"}, no, "local"),
    ],
)
def test_choice(env: dict[str, str], docker: object, expected: str) -> None:
    assert choose_backend(env, docker) == expected  # type: ignore[arg-type]


def test_docker_demanded_but_absent_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no Docker engine answers"):
        choose_backend({"RBN_TEST_INFRA": "docker"}, no)


def test_unknown_choice_is_an_error() -> None:
    with pytest.raises(ValueError, match="local, docker or auto"):
        choose_backend({"RBN_TEST_INFRA": "kubernetes"}, no)
