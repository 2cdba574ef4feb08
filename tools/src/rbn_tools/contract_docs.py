"""The published contract for subscribers: the event catalogue page and AsyncAPI documents.

    rbn-contract-docs            write docs/events/README.md and docs/asyncapi/<service>.json
    rbn-contract-docs --check    exit 1 if they differ from what the code says

Everything is derived from the code: the catalogue, the exported schemas, and the consumers each
service wires in its bootstrap. A developer's tool (it imports the services), not an operator's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from faststream.specification import AsyncAPI

from rbn_shared.events import CATALOGUE
from rbn_shared.events.schemas import file_name, schema_of
from rbn_shared.events.topics import Topics
from rbn_shared.runtime import Runtime

REPO = Path(__file__).resolve().parents[3]
CATALOGUE_PAGE = REPO / "docs" / "events" / "README.md"
ASYNCAPI_FOLDER = REPO / "docs" / "asyncapi"

SAMPLE_TEXT = {
    "name": "Anna Schmidt",
    "title": "Regionale Bildungskonferenz 2027",
    "id": "hamm",
    "reason": "Ruhestand",
    "summary": "Die Konferenz empfiehlt, die Berufsorientierung zu stärken.",
    "text": "Praxistage ab Klasse 8 in allen Schulformen.",
    "organisation": "Schulamt Hamm",
    "function": "Schulrätin",
    "address": "Ostenallee 87, 59071 Hamm",
    "member_id": "mem-8030f21502aa",
    "staff_id": "stf-41c9e2d07a11",
    "field_id": "hf-5b0e7c2a9d43",
    "field_of_action_id": "hf-5b0e7c2a9d43",
    "field_of_action_title": "Übergang Schule–Beruf",
    "agreement_id": "agr-8bb71c52c057",
    "conference_id": "3f2a9c01b7d4",
    "invitation_id": "inv-5",
    "bulletin_id": "bul-0c2b7f7d1e01",
    "delivery_id": "dlv-9a55c8e0",
    "topic": "Übergang Schule–Beruf",
    "body": "Sehr geehrte Damen und Herren, das Ministerium informiert über ...",
    "starting_situation": "Viele Jugendliche brechen ihre Ausbildung ab.",
    "development_needs": "Mehr Praxisphasen und Beratung.",
    "released_from_school": "Grundschule Emst",
    "template": "conference_invitation",
    "subject": "Einladung: Regionale Bildungskonferenz 2027 – RBN Hamm",
    "cause_event_type": "conference-scheduled",
    "timezone": "Europe/Berlin",
    "recipient": "anna.schmidt@schulamt-hamm.example",
}

NETWORK = {
    "id": "hamm",
    "name": "Regionales Bildungsnetzwerk Hamm",
    "office_email": "bildungsbuero@hamm.example",
}


def runtimes() -> dict[str, Runtime]:
    """Each service as its bootstrap wires it; building one opens no connection."""
    from conferences.bootstrap import build as build_conferences
    from conferences.settings import ConferencesSettings
    from notifications.bootstrap import build as build_notifications
    from notifications.settings import NotificationsSettings
    from rbn_shared.settings import AuthSettings
    from registry.bootstrap import build as build_registry
    from registry.settings import RegistrySettings

    # Only the wiring is read: no one signs in, so no provider needs to be configured.
    offline = AuthSettings(environment="development")
    return {
        "registry": build_registry(RegistrySettings(auth=offline)).runtime,
        "conferences": build_conferences(ConferencesSettings(auth=offline)).runtime,
        "notifications": build_notifications(NotificationsSettings(auth=offline)).runtime,
    }


def sample(node: dict[str, Any], root: dict[str, Any], name: str = "") -> Any:
    """A plausible, deterministic example value for a JSON Schema node."""
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        return sample(options[0], root, name) if options else None
    kind = node.get("type")
    if kind == "object":
        return {key: sample(child, root, key) for key, child in node.get("properties", {}).items()}
    if kind == "array":
        return [sample(node.get("items", {}), root, name)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 0.5
    if kind == "boolean":
        return False
    formats = {
        "email": "anna.schmidt@schulamt-hamm.example",
        "idn-email": "anna.schmidt@schulamt-hamm.example",
        "date": "2027-03-10",
        "date-time": "2027-03-10T13:00:00Z",
        "uuid": "6f1c2f0e-8a4b-4c8e-9a55-0c2b7f7d1e01",
        "uri": "https://rbn.example/respond/abc",
        "duration": "P7D",
    }
    if node.get("format") in formats:
        return formats[node["format"]]
    if node.get("pattern") == "^[0-9a-f]{64}$":  # a subject digest (person-erased)
        return hashlib.sha256(b"anna.schmidt@schulamt-hamm.example").hexdigest()
    last = name.rsplit("_", 1)[-1]
    return SAMPLE_TEXT.get(name, SAMPLE_TEXT.get(last, name.replace("_", " ") or "text"))


def catalogue_page(consumers: dict[str, list[str]]) -> str:
    topics = Topics()
    lines = [
        "# Event catalogue",
        "",
        "Every event the platform publishes, generated from the code by `rbn-contract-docs`",
        "(do not edit by hand). Topics are shown with the default prefix `rbn.`; each has a",
        "dead-letter topic `<topic>.dlq`. The key is the network id (`district` for the district",
        "coordination and its bulletins), so the events of one network arrive in order.",
        "",
        "How to subscribe, and the compatibility promise: see the README's subscriber section and",
        "`examples/subscriber/`.",
        "",
        "Addresses (`email`, `recipient`, `office_email`; JSON Schema format `idn-email`) are in",
        "the system's canonical form: lower case, NFC, an internationalised domain in Unicode",
        "(SMTP needs it as IDNA), possibly a non-ASCII local part (SMTP needs SMTPUTF8 for it).",
        'Do not assume ASCII. See the README, "Addresses and input".',
        "",
        "| event | version | producer | topic | consumers in the project | schema |",
        "|---|---|---|---|---|---|",
    ]
    specs = sorted(CATALOGUE.values(), key=lambda s: (s.producer, s.event_type))
    for spec in specs:
        who = ", ".join(consumers.get(spec.event_type, [])) or "—"
        lines.append(
            f"| [`{spec.event_type}`](#{spec.event_type}) | {spec.version} | {spec.producer} | "
            f"`{topics.events_of(spec.producer)}` | {who} | "
            f"[schema](../../contracts/events/{file_name(spec)}) |"
        )
    for spec in specs:
        schema = schema_of(spec)
        example = sample(schema, schema)
        payload = example["payload"]
        key = "hamm" if "network" in payload else "district"
        if "network" in payload:
            payload["network"] = NETWORK
        example.update(
            producer=spec.producer,
            key=key,
            aggregate_id=key,
            correlation_id="req-4f1d2c",
            causation_id=None,
        )
        doc = (spec.model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines += [
            "",
            f"## {spec.event_type}",
            "",
            doc or f"Published by the {spec.producer}.",
            "",
            f"- producer: {spec.producer}; topic `{topics.events_of(spec.producer)}`; "
            f"key: {'`district`' if key == 'district' else 'the network id'}",
            f"- consumers in the project: {', '.join(consumers.get(spec.event_type, [])) or '—'}",
            f"- schema: [`contracts/events/{file_name(spec)}`]"
            f"(../../contracts/events/{file_name(spec)})",
            "",
            "<details><summary>Example</summary>",
            "",
            "```json",
            json.dumps(example, indent=2, ensure_ascii=False),
            "```",
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def asyncapi_documents(found: dict[str, Runtime]) -> dict[str, str]:
    documents = {}
    for name, runtime in found.items():
        spec = AsyncAPI(
            runtime.broker,
            title=f"RBN {name}",
            version="1.0",
            description=f"The events the {name} publishes and the topics it consumes.",
            schema_version="3.0.0",
        )
        body = spec.to_specification().to_jsonable()
        documents[f"{name}.json"] = json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True)
    return {name: text + "\n" for name, text in documents.items()}


def rendered() -> dict[Path, str]:
    found = runtimes()
    consumers: dict[str, list[str]] = {}
    for runtime in found.values():
        for consumer in runtime.consumers:
            for event_type in consumer.handled_types:
                consumers.setdefault(event_type, []).append(consumer.name)
    files = {CATALOGUE_PAGE: catalogue_page(consumers)}
    for name, text in asyncapi_documents(found).items():
        files[ASYNCAPI_FOLDER / name] = text
    return files


def write() -> list[Path]:
    files = rendered()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


def stale() -> list[Path]:
    return [
        path
        for path, text in rendered().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rbn-contract-docs", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale()
        if outdated:
            for path in outdated:
                print(f"out of date: {path.relative_to(REPO)}", file=sys.stderr)
            print("Run `uv run rbn-contract-docs` and commit the result.", file=sys.stderr)
            return 1
        print("the event catalogue and the AsyncAPI documents are up to date")
        return 0
    for path in write():
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
