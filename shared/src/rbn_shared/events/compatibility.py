"""Is a new event schema compatible with the old one of the same type and version?

The promise to subscribers (README, "For subscribers"): within one `version` of an event, fields
are only ever added; anything else raises the version. Both directions of a topic depend on it:

- A subscriber validates each message against the schema it holds, which may be an older
  release's: the new schema must accept nothing the old one refused (no new enum value, no longer
  string, no new null, no field made optional), or that subscriber rejects the new messages. The
  services' own models do the same during a rolling upgrade, and dead-letter what they refuse.
- Events already published are read again under the new schema (a replay, a projection rebuilt
  from the topic, a new subscriber starting at the earliest offset): it must refuse nothing the
  old one accepted (no removed enum value, no shorter maximum, no new pattern or format, no lost
  null, no field made required).

So within a version the set of valid messages stays as it is, except for new optional fields
(readers ignore fields they do not know). Titles, descriptions, defaults and examples are
annotations and may change. Everything else is one problem line naming the field's path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]

# Keywords whose values are compared as they are: a change in either direction is a problem.
_VALUE_KEYWORDS = (
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "multipleOf",
    "pattern",
    "format",
    "uniqueItems",
)
# Rare keywords the project's models do not produce: compared as written, without following refs.
_WRITTEN_KEYWORDS = (
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "prefixItems",
    "contains",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedItems",
    "unevaluatedProperties",
)
# Everything that decides whether a value is valid; any other keyword is an annotation.
_ASSERTIONS = frozenset(
    (
        *_VALUE_KEYWORDS,
        *_WRITTEN_KEYWORDS,
        "type",
        "enum",
        "const",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "anyOf",
        "oneOf",
        "$ref",
    )
)
_KIND_OF_VALUE = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
    list: "array",
    dict: "object",
}


@dataclass
class _Walk:
    """Both roots (for `$ref`), the problems found so far, and the pairs of schemas (as written)
    being compared, so a recursive model is not followed forever."""

    old_root: Schema
    new_root: Schema
    problems: list[str] = field(default_factory=list)
    active: set[tuple[int, int]] = field(default_factory=set)

    def report(self, path: str, text: str) -> None:
        self.problems.append(f"{path or '<root>'}: {text}")


def compare(old: Schema, new: Schema) -> list[str]:
    """What makes `new` incompatible with `old`; empty if it is compatible."""
    walk = _Walk(old, new)
    _compare(walk, old, new, "")
    return walk.problems


def compare_folders(old: dict[str, Schema], new: dict[str, Schema]) -> list[str]:
    """File name to schema, before and after; what is incompatible, one line each. A new file
    (a new event, or a new version beside the old one) is always fine."""
    problems = []
    for name, old_schema in sorted(old.items()):
        if name not in new:
            problems.append(f"{name}: the event type or version is gone")
            continue
        problems.extend(f"{name}: {p}" for p in compare(old_schema, new[name]))
    return problems


def _assertions(node: Schema) -> Schema:
    return {key: value for key, value in node.items() if key in _ASSERTIONS}


def _resolve(node: Schema, root: Schema) -> Schema:
    """The schema a `$ref` points to, with the assertions written beside the `$ref` added."""
    while "$ref" in node:
        pointer = node["$ref"]
        target = root if pointer == "#" else root.get("$defs", {})[pointer.rsplit("/", 1)[-1]]
        beside = {k: v for k, v in _assertions(node).items() if k != "$ref"}
        node = {**target, **beside} if beside else target
    return node


def _branches(node: Schema, root: Schema) -> list[Schema]:
    """The alternatives a value may take: `anyOf`/`oneOf` flattened, a list of types split, each
    alternative with the assertions written beside the `anyOf`."""
    node = _resolve(node, root)
    for keyword in ("anyOf", "oneOf"):
        if keyword in node:
            beside = {k: v for k, v in _assertions(node).items() if k != keyword}
            return [
                branch
                for alternative in node[keyword]
                for branch in _branches({**beside, **alternative} if beside else alternative, root)
            ]
    kinds = node.get("type")
    if isinstance(kinds, list):
        return [{**node, "type": kind} for kind in kinds]
    return [node]


def _kind(branch: Schema) -> str:
    """The JSON type of one alternative, `any` when nothing restricts it."""
    if isinstance(branch.get("type"), str):
        kind: str = branch["type"]
        return kind
    if "const" in branch:
        return _KIND_OF_VALUE.get(type(branch["const"]), "any")
    if "enum" in branch:
        kinds = {_KIND_OF_VALUE.get(type(value), "any") for value in branch["enum"]}
        return kinds.pop() if len(kinds) == 1 else "any"
    if "properties" in branch:
        return "object"
    if "items" in branch:
        return "array"
    return "any"


def _by_kind(branches: list[Schema]) -> dict[str, list[Schema]]:
    grouped: dict[str, list[Schema]] = {}
    for branch in branches:
        grouped.setdefault(_kind(branch), []).append(branch)
    return grouped


def _compare(walk: _Walk, old: Schema, new: Schema, path: str) -> None:
    """One value: its kinds first (a lost or new `null` is a lost or new kind), then each kind
    both schemas accept, alternative by alternative. A pair already being compared further up is
    a recursive model coming round again: its problems are reported there."""
    pair = (id(old), id(new))
    if pair in walk.active:
        return
    walk.active.add(pair)
    try:
        _compare_kinds(walk, old, new, path)
    finally:
        walk.active.discard(pair)


def _compare_kinds(walk: _Walk, old: Schema, new: Schema, path: str) -> None:
    before = _by_kind(_branches(old, walk.old_root))
    after = _by_kind(_branches(new, walk.new_root))
    lost, gained = sorted(before.keys() - after.keys()), sorted(after.keys() - before.keys())
    if lost and gained and not before.keys() & after.keys():
        walk.report(path, f"type changed from {sorted(before)} to {sorted(after)}")
        return
    if lost:
        walk.report(path, f"no longer accepts {', '.join(lost)}")
    if gained:
        walk.report(path, f"newly accepts {', '.join(gained)}")
    for kind in sorted(before.keys() & after.keys()):
        if len(before[kind]) == 1 and len(after[kind]) == 1:
            _compare_branch(walk, before[kind][0], after[kind][0], path)
        elif _written(before[kind]) != _written(after[kind]):
            walk.report(path, f"the {kind} alternatives changed")


def _compare_branch(walk: _Walk, old: Schema, new: Schema, path: str) -> None:
    _compare_values(walk, old, new, path)
    _compare_enum(walk, old, new, path)
    _compare_written(walk, old, new, path)
    _compare_properties(walk, old, new, path)
    _compare_items(walk, old, new, path)


def _compare_values(walk: _Walk, old: Schema, new: Schema, path: str) -> None:
    """Limits, pattern and format: added, removed or changed, each named with its values."""
    for keyword in _VALUE_KEYWORDS:
        was, now = old.get(keyword), new.get(keyword)
        if was == now:
            continue
        if was is None:
            walk.report(path, f"{keyword} added ({_shown(now)})")
        elif now is None:
            walk.report(path, f"{keyword} removed (was {_shown(was)})")
        elif _is_number(was) and _is_number(now):
            direction = "lowered" if now < was else "raised"
            walk.report(path, f"{keyword} {direction} from {_shown(was)} to {_shown(now)}")
        else:
            walk.report(path, f"{keyword} changed from {_shown(was)} to {_shown(now)}")


def _compare_enum(walk: _Walk, old: Schema, new: Schema, path: str) -> None:
    """`const` is an enum of one value; values are compared as JSON (1 and true differ)."""
    was, now = _allowed(old), _allowed(new)
    if was == now:
        return
    if was is None:
        walk.report(path, f"{_restriction(new)} added ({_listed(now or [])})")
        return
    if now is None:
        walk.report(path, f"{_restriction(old)} removed (was {_listed(was)})")
        return
    if "const" in old and "const" in new:
        walk.report(path, f"const changed from {_listed(was)} to {_listed(now)}")
        return
    removed, added = [v for v in was if v not in now], [v for v in now if v not in was]
    if removed:
        walk.report(path, f"enum values removed: {_listed(removed)}")
    if added:
        walk.report(path, f"enum values added: {_listed(added)}")


def _compare_written(walk: _Walk, old: Schema, new: Schema, path: str) -> None:
    for keyword in _WRITTEN_KEYWORDS:
        if _written(old.get(keyword)) != _written(new.get(keyword)):
            walk.report(path, f"{keyword} changed")


def _compare_properties(walk: _Walk, old: Schema, new: Schema, path: str) -> None:
    """Fields: none removed, none newly required or optional, each compared; a new optional
    field is fine unless the old schema refused unknown fields."""
    old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
    for name, schema in old_fields.items():
        where = _child(path, name)
        if name not in new_fields:
            walk.report(where, "removed")
        else:
            _compare(walk, schema, new_fields[name], where)
    if old.get("additionalProperties") is False:
        for name in sorted(new_fields.keys() - old_fields.keys()):
            walk.report(_child(path, name), "added, where the old schema refused unknown fields")
    was_required, now_required = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(now_required - was_required):
        walk.report(_child(path, name), "newly required")
    for name in sorted(was_required - now_required):
        walk.report(_child(path, name), "no longer required")
    _compare_additional(walk, old, new, path)


def _compare_additional(walk: _Walk, old: Schema, new: Schema, path: str) -> None:
    """`additionalProperties`: absent means any value; a schema on both sides is compared."""
    was, now = old.get("additionalProperties", True), new.get("additionalProperties", True)
    if was is False or now is False:
        if was is not now:
            walk.report(
                path, "additionalProperties " + ("no longer false" if now else "newly false")
            )
        return
    if was is not now:
        _compare(walk, {} if was is True else was, {} if now is True else now, f"{path}.*")


def _compare_items(walk: _Walk, old: Schema, new: Schema, path: str) -> None:
    """`items` absent or `true` accepts any item; `false` (after `prefixItems`) none."""
    was, now = old.get("items", True), new.get("items", True)
    if was is True and now is True:
        return
    if was is False or now is False:
        if was is not now:
            walk.report(path, f"items changed from {_written(was)} to {_written(now)}")
        return
    _compare(walk, _schema_or_any(was), _schema_or_any(now), f"{path}[]")


def _schema_or_any(value: Any) -> Schema:
    """`true` accepts anything, as the empty schema does."""
    return value if isinstance(value, dict) else {}


def _allowed(node: Schema) -> list[Any] | None:
    if "const" in node:
        return [_written(node["const"])]
    if "enum" in node:
        return [_written(value) for value in node["enum"]]
    return None


def _restriction(node: Schema) -> str:
    return "const" if "const" in node else "enum"


def _listed(values: list[Any]) -> str:
    return ", ".join(values)


def _written(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _shown(value: Any) -> str:
    return _written(value) if isinstance(value, str | bool) else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
