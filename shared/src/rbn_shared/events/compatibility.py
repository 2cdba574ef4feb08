"""Is a new event schema compatible with the old one of the same type and version?

Incompatible: a field removed or renamed, a field's type changed, a field newly required, or an
event type and version that existed before and is gone. Adding optional fields is compatible.
Such a change needs a new `version` of the event instead.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def _resolve(node: Schema, root: Schema) -> Schema:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = root.get("$defs", {})[name]
    return node


def _branches(node: Schema, root: Schema) -> list[Schema]:
    node = _resolve(node, root)
    if "anyOf" in node:
        return [b for alt in node["anyOf"] for b in _branches(alt, root)]
    return [node]


def _kinds(node: Schema, root: Schema) -> set[str]:
    kinds = set()
    for branch in _branches(node, root):
        kind = branch.get("type")
        if isinstance(kind, list):
            kinds.update(kind)
        elif kind is not None:
            kinds.add(kind)
        elif "const" in branch:
            kinds.add(type(branch["const"]).__name__)
        elif "enum" in branch:
            kinds.add("enum")
    return kinds


def _objects(node: Schema, root: Schema) -> list[Schema]:
    return [b for b in _branches(node, root) if b.get("type") == "object" or "properties" in b]


def compare(old: Schema, new: Schema) -> list[str]:
    """What makes `new` incompatible with `old`; empty if it is compatible."""
    problems: list[str] = []
    _compare(old, old, new, new, "", problems)
    return problems


def _compare(
    old: Schema, old_root: Schema, new: Schema, new_root: Schema, path: str, problems: list[str]
) -> None:
    old_kinds, new_kinds = _kinds(old, old_root), _kinds(new, new_root)
    if old_kinds and new_kinds and not old_kinds <= new_kinds:
        problems.append(
            f"{path or '<root>'}: type changed from {sorted(old_kinds)} to {sorted(new_kinds)}"
        )
        return
    old_objects, new_objects = _objects(old, old_root), _objects(new, new_root)
    if len(old_objects) == 1 and len(new_objects) == 1:
        before, after = old_objects[0], new_objects[0]
        old_props, new_props = before.get("properties", {}), after.get("properties", {})
        for name, schema in old_props.items():
            where = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(f"{where}: removed")
            else:
                _compare(schema, old_root, new_props[name], new_root, where, problems)
        for name in sorted(set(after.get("required", [])) - set(before.get("required", []))):
            where = f"{path}.{name}" if path else name
            problems.append(f"{where}: newly required")
    old_items = _resolve(old, old_root).get("items")
    new_items = _resolve(new, new_root).get("items")
    if isinstance(old_items, dict) and isinstance(new_items, dict):
        _compare(old_items, old_root, new_items, new_root, f"{path}[]", problems)


def compare_folders(old: dict[str, Schema], new: dict[str, Schema]) -> list[str]:
    """File name to schema, before and after; what is incompatible, one line each."""
    problems = []
    for name, old_schema in sorted(old.items()):
        if name not in new:
            problems.append(f"{name}: the event type or version is gone")
            continue
        problems.extend(f"{name}: {p}" for p in compare(old_schema, new[name]))
    return problems
