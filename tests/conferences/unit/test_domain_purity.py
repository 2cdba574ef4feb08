"""The domain stays pure: no database, web, or messaging library is imported there."""

from __future__ import annotations

import ast
from pathlib import Path

import conferences.domain

FORBIDDEN = {"pymongo", "fastapi", "starlette", "faststream", "aiokafka", "httpx", "uvicorn"}


def imported_roots(source: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_modules_import_no_io_library() -> None:
    folder = Path(conferences.domain.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) >= 4
    offenders = {m.name: imported_roots(m) & FORBIDDEN for m in modules}
    assert {name: found for name, found in offenders.items() if found} == {}
