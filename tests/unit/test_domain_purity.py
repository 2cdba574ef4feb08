"""Every service's domain stays pure: no database, broker, SMTP, HTTP or web framework imports."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pytest

import conferences.domain
import notifications.domain
import registry.domain

IO_LIBRARIES = {
    "pymongo",
    "fastapi",
    "starlette",
    "faststream",
    "aiokafka",
    "aiosmtplib",
    "httpx",
    "uvicorn",
}
# Shared modules a domain may use: the contract and pure helpers, none with I/O.
PURE_SHARED = {
    "rbn_shared.events",
    "rbn_shared.addresses",
    "rbn_shared.errors",
    "rbn_shared.text",
    "rbn_shared.calendar_addresses",
    "rbn_shared.subjects",
}


def imports_of(source: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("domain", [registry.domain, conferences.domain, notifications.domain])
def test_a_domain_imports_no_io_library_and_only_pure_shared_modules(domain: ModuleType) -> None:
    modules = sorted(Path(str(domain.__file__)).parent.glob("*.py"))
    assert len(modules) >= 2
    found = {m.name: imports_of(m) for m in modules}
    io = {
        name: sorted(n for n in names if n.split(".")[0] in IO_LIBRARIES)
        for name, names in found.items()
    }
    assert {name: libs for name, libs in io.items() if libs} == {}
    shared = {
        name: sorted(
            n
            for n in names
            if n.startswith("rbn_shared") and not any(n.startswith(p) for p in PURE_SHARED)
        )
        for name, names in found.items()
    }
    assert {name: mods for name, mods in shared.items() if mods} == {}
