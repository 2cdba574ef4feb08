"""Environment for a service under test, from the `isolated` fixture's RBN_* variables."""

from __future__ import annotations

from collections.abc import Mapping


def service_env(prefix: str, isolated: Mapping[str, str], **extra: str) -> dict[str, str]:
    """`service_env("CONFERENCES_", isolated, HTTP_PORT="8123")` renames RBN_X to CONFERENCES_X."""
    env = {prefix + key.removeprefix("RBN_"): value for key, value in isolated.items()}
    env.update({prefix + key: value for key, value in extra.items()})
    return env
