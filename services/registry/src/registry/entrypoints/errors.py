"""How the domain's refusals are answered over HTTP: each as a problem document."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from rbn_shared.errors import VersionConflict
from rbn_shared.http import PROBLEM_JSON, Problem, field_error
from registry.domain.errors import Conflict, DomainError, NotFound, RuleViolation


def as_problem(error: DomainError) -> Problem:
    errors = [field_error(error.field, error.message)] if error.field else []
    if isinstance(error, NotFound):
        return Problem(404, "Not found", error.message, kind="not-found")
    if isinstance(error, Conflict):
        return Problem(409, "Conflict", error.message, errors=errors, kind="conflict")
    if isinstance(error, RuleViolation):
        return Problem(422, "Rule violated", error.message, errors=errors, kind="rule-violated")
    return Problem(400, "Bad request", error.message, errors=errors)


def version_conflict(error: VersionConflict) -> Problem:
    return Problem(
        409, "Version conflict", f"{error}; read it again and retry.", kind="version-conflict"
    )


def install_domain_errors(app: FastAPI) -> None:
    async def on_domain_error(request: Request, error: Exception) -> Response:
        if isinstance(error, VersionConflict):
            problem = version_conflict(error)
        else:
            assert isinstance(error, DomainError)  # noqa: S101 - registered for these only
            problem = as_problem(error)
        return JSONResponse(
            problem.body(instance=request.url.path),
            status_code=problem.status,
            media_type=PROBLEM_JSON,
        )

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(VersionConflict, on_domain_error)
