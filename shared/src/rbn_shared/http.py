"""HTTP conventions shared by the services: RFC 9457 problem details, correlation ids, health.

Every error a client sees is `application/problem+json` with `type`, `title`, `status`, `detail`
and, for bad input, `errors`: one entry per offending field with the reason.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import json_merge_patch
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rbn_shared.logging import bound, get_logger

log = get_logger(__name__)

FoundT = TypeVar("FoundT")

PROBLEM_JSON = "application/problem+json"
CORRELATION_HEADER = "X-Correlation-ID"


class Problem(Exception):
    """An error to show the client as a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, str]] = (),
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.kind = kind or title.lower().replace(" ", "-")
        self.headers = dict(headers or {})

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:rbn-arnsberg:problem:{self.kind}",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        if instance:
            body["instance"] = instance
        return body


def found(value: FoundT | None, detail: str) -> FoundT:
    """`value`, or a 404 problem saying `detail` when there is none."""
    if value is None:
        raise Problem(404, "Not found", detail, kind="not-found")
    return value


def field_error(field: str, reason: str) -> dict[str, str]:
    return {"field": field, "reason": reason}


def _field_path(location: Sequence[Any]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        source, rest = parts[0], parts[1:]
        return ".".join(rest) if source == "body" and rest else ".".join([source, *rest])
    return ".".join(parts)


def _problem_response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(
        problem.body(instance=request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


_HTTP_TITLES = {
    400: ("Bad request", "bad-request"),
    404: ("Not found", "not-found"),
    405: ("Method not allowed", "method-not-allowed"),
    413: ("Payload too large", "payload-too-large"),
    415: ("Unsupported media type", "unsupported-media-type"),
}


def _reason(message: str) -> str:
    """pydantic's message without its "Value error, " prefix (our validators say it all)."""
    return message.removeprefix("Value error, ")


def invalid_input(errors: Sequence[Mapping[str, Any]], prefix: str = "") -> Problem:
    """422 with one entry per field, from pydantic's (or FastAPI's) error list."""
    fields = [
        field_error(
            ".".join(p for p in (prefix, _field_path(e.get("loc", ()))) if p),
            _reason(str(e.get("msg", "invalid"))),
        )
        for e in errors
    ]
    return Problem(
        422,
        "Invalid input",
        "Some fields are missing or invalid.",
        errors=fields,
        kind="invalid-input",
    )


def _malformed_json(error: Mapping[str, Any], body: Any) -> Problem:
    """400 for a body that is no JSON, with the line and column where parsing stopped."""
    location = error.get("loc", ())
    position = location[-1] if location and isinstance(location[-1], int) else 0
    text = body.decode(errors="replace") if isinstance(body, bytes | bytearray) else str(body)
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    reason = str((error.get("ctx") or {}).get("error", "invalid JSON"))
    return Problem(
        400,
        "Malformed JSON",
        f"The body is not valid JSON: {reason} at line {line}, column {column}.",
        errors=[field_error("body", f"{reason} (line {line}, column {column})")],
        kind="malformed-json",
    )


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this path (Starlette names only the
    first matching route's): asked of the routes themselves, one method at a time."""
    routes = request.app.router.routes
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Problem)  # noqa: S101 - registered for Problem only
        return _problem_response(error, request)

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)  # noqa: S101
        malformed = [e for e in error.errors() if e.get("type") == "json_invalid"]
        if malformed:
            return _problem_response(_malformed_json(malformed[0], error.body), request)
        return _problem_response(invalid_input(error.errors()), request)

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)  # noqa: S101
        title, kind = _HTTP_TITLES.get(error.status_code, ("Error", None))
        detail = error.detail if isinstance(error.detail, str) else None
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        problem = Problem(error.status_code, title, detail, kind=kind, headers=headers)
        return _problem_response(problem, request)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


class CorrelationIdMiddleware:
    """Takes the caller's X-Correlation-ID (or makes one), binds it to the logs, echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or ()).get(CORRELATION_HEADER.lower().encode())
        correlation_id = incoming.decode(errors="replace")[:200] if incoming else str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        status = 500
        started = time.perf_counter()

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.encode(), correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        with bound(correlation_id=correlation_id):
            try:
                await self.app(scope, receive, send_with_header)
            finally:
                if scope.get("path") not in QUIET_PATHS:
                    log.info(
                        "http request",
                        method=scope.get("method"),
                        path=loggable_path(scope.get("path", "")),
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    )


def etag(version: int) -> str:
    return f'"{version}"'


def version_from_if_match(if_match: str | None) -> int:
    """The version a client read, from its If-Match header: 428 if missing, 400 if malformed."""
    if if_match is None:
        raise Problem(
            428,
            "Precondition required",
            'Send If-Match with the ETag you read (e.g. If-Match: "3").',
            kind="precondition-required",
        )
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise Problem(
            400,
            "Invalid If-Match",
            f'If-Match {if_match!r} is not an ETag like "3".',
            errors=[field_error("header.If-Match", "not a version ETag")],
            kind="invalid-input",
        )
    return int(value)


QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})


def loggable_path(path: str) -> str:
    """The path without secrets: long segments (signed tokens in personal links) are cut."""
    return "/".join(
        segment if len(segment) <= 40 else segment[:6] + "…" for segment in path.split("/")
    )


def correlation_id_of(request: Request) -> str:
    value = request.scope.get("state", {}).get("correlation_id")
    return str(value) if value else str(uuid.uuid4())


ReadinessCheck = Callable[[], Awaitable[Mapping[str, Any]]]


def _readiness(description: str, status: dict[str, Any]) -> dict[str, Any]:
    """An answer of `/ready`: its status and the checks behind it."""
    schema = {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {"status": status, "checks": {"type": "object"}},
    }
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def health_router(readiness: ReadinessCheck) -> APIRouter:
    """`/health`: the process is alive. `/ready`: it can work (503 with the reasons if not).

    Unresolved dead letters (`checks.dead_letters.unresolved`) make it "degraded", still 200:
    the instance serves, and a load balancer or orchestrator must not take it out for that.
    """
    router = APIRouter(tags=["health"])

    @router.get("/health", summary="The process is alive")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/ready",
        summary="Kafka and the database are reachable, backlogs within bounds",
        responses={
            200: _readiness(
                '"ready", or "degraded" while dead letters are unresolved',
                {"enum": ["ready", "degraded"]},
            ),
            # Not a problem document: the same shape as 200, saying what failed
            # (document_problems leaves a route's own error schema alone).
            503: _readiness('"not ready", with the checks that failed', {"const": "not ready"}),
        },
    )
    async def ready() -> JSONResponse:
        checks = dict(await readiness())
        dead_letters = checks.get("dead_letters")
        outage_checks = [v for k, v in checks.items() if k != "dead_letters"]
        ok = all(bool(v.get("ok")) if isinstance(v, Mapping) else bool(v) for v in outage_checks)
        degraded = isinstance(dead_letters, Mapping) and bool(dead_letters.get("unresolved"))
        status = "not ready" if not ok else "degraded" if degraded else "ready"
        return JSONResponse({"status": status, "checks": checks}, status_code=200 if ok else 503)

    return router


# ---------------------------------------------------------------------------- body size


class BodySizeLimit:
    """Refuses request bodies over the limit with 413: at once when Content-Length says so;
    a body without it (chunked) is read up to the limit first and then handed on."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = Problem(
            413,
            "Payload too large",
            f"Request bodies are limited to {self.max_bytes} bytes.",
            kind="payload-too-large",
        )
        body = problem.body(instance=scope.get("path"))
        response = JSONResponse(body, status_code=413, media_type=PROBLEM_JSON)
        await response(scope, receive, send)


# ---------------------------------------------------------------------------- JSON merge patch

MERGE_PATCH_JSON = "application/merge-patch+json"
ModelT = TypeVar("ModelT", bound=BaseModel)


def merge_patch(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386: `patch` applied to `current` (neither is changed). A member set to null is
    removed, an object is merged member by member, anything else replaces what was there."""
    merged: dict[str, Any] = json_merge_patch.merge(copy.deepcopy(dict(current)), dict(patch))
    return merged


def validated(model: type[ModelT], data: Mapping[str, Any]) -> ModelT:
    """`data` as `model`, or 422 naming every offending field (for merged PATCH results)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid_input(error.errors()) from error


# ---------------------------------------------------------------------------- OpenAPI


class FieldErrorDocument(BaseModel):
    field: str
    reason: str


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, as every error of every service is answered."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldErrorDocument] | None = None


PROBLEM_DESCRIPTIONS = {
    400: "Malformed JSON or a malformed header",
    401: "No valid bearer token",
    403: "The caller's role may not do this",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state, or a stale If-Match version",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input, field by field",
    428: "If-Match missing",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: these error answers, documented as problem documents."""
    return {
        status: {"model": ProblemDocument, "description": PROBLEM_DESCRIPTIONS[status]}
        for status in statuses
    }


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the problem handlers send: every 4xx/5xx answer as
    `application/problem+json` with the ProblemDocument schema (FastAPI would say
    `application/json`, and its own validation-error schema for 422)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem = {"$ref": "#/components/schemas/ProblemDocument"}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ProblemDocument, FieldErrorDocument):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            model_schema.pop("$defs", None)
            components.setdefault(model.__name__, model_schema)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    declared = response.get("content", {})
                    its_own = any(
                        c.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
                        not in ("ProblemDocument", "HTTPValidationError")
                        for c in declared.values()
                    )
                    if str(status)[0] in "45" and not its_own:  # not a route's own answer (503)
                        response["content"] = {PROBLEM_JSON: {"schema": problem}}
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# A service closes a connection idle this long (uvicorn's default, named). Its clients keep
# theirs for less (CLIENT_KEEPALIVE_SECONDS): a pooled connection reused at the very moment the
# service closes it fails the request ("server disconnected"), which the portal showed as 503.
SERVER_KEEPALIVE_SECONDS = 5
CLIENT_KEEPALIVE_SECONDS = 2.0


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run `app` under uvicorn, as every service does: the structured logging configured at
    start, and no access log (request lines would show tokens in their query)."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )
