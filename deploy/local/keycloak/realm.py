"""Writes the realm file Keycloak imports locally: the production realm plus the local overlay.

    python3 deploy/local/keycloak/realm.py BASE [OVERLAY] > rbn-realm.json

BASE is deploy/keycloak/rbn-realm.json (what production imports, with no demo users, no password
grant and no known secret). OVERLAY (deploy/local/keycloak/rbn-realm.local.json) adds the demo
users and the development client `rbn-dev` and sets a known secret for `rbn-ops`. Lists of objects
are merged by their key (`clientId`, `username`, `name`): an overlay entry with the key of a base
entry updates it, any other is appended. Keys starting with `_` are comments and dropped.
Standard library only: infra.sh runs it with the machine's python3.
"""

from __future__ import annotations

import json
import sys
from typing import Any

KEYS = ("clientId", "username", "name", "alias")


def _key(entry: Any) -> tuple[str, Any] | None:
    if isinstance(entry, dict):
        for key in KEYS:
            if key in entry:
                return key, entry[key]
    return None


def merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for name, value in overlay.items():
            merged[name] = merge(base[name], value) if name in base else value
        return merged
    if isinstance(base, list) and isinstance(overlay, list):
        merged_list = list(base)
        index = {_key(entry): i for i, entry in enumerate(base) if _key(entry) is not None}
        for entry in overlay:
            key = _key(entry)
            if key is not None and key in index:
                merged_list[index[key]] = merge(merged_list[index[key]], entry)
            else:
                merged_list.append(entry)
        return merged_list
    return overlay


def without_comments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_comments(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [without_comments(v) for v in value]
    return value


def main(paths: list[str]) -> None:
    if not 1 <= len(paths) <= 2:
        sys.exit(__doc__)
    with open(paths[0], encoding="utf-8") as f:
        realm = json.load(f)
    if len(paths) == 2:
        with open(paths[1], encoding="utf-8") as f:
            realm = merge(realm, json.load(f))
    json.dump(without_comments(realm), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
