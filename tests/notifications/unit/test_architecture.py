"""The domain stays pure: no database, broker, SMTP or web framework imports."""

from __future__ import annotations

import ast
from pathlib import Path

import notifications.domain

IO_LIBRARIES = {"pymongo", "fastapi", "faststream", "aiokafka", "aiosmtplib", "httpx", "starlette"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_domain_imports_no_io_library() -> None:
    folder = Path(notifications.domain.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        assert not imported_roots(module) & IO_LIBRARIES, module.name
