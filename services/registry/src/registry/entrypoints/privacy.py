"""The data subjects' rights, for the district coordination: erase a person from the whole
system (Art. 17 DSGVO), export what the registry holds about them (Art. 15), and the audit of
both. Every route is the district's only (403 for offices and readers, before a body is judged).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response, status
from pydantic import BaseModel, Field

from rbn_shared.auth import Principal, district_caller
from rbn_shared.changes import Cause
from rbn_shared.http import correlation_id_of, invalid_input, problem_responses
from rbn_shared.privacy_api import subject_rights_router
from registry.entrypoints import schemas
from registry.service_layer.privacy import (
    ByAddress,
    ByRecord,
    ErasureTarget,
    PrivacyService,
)


async def get_privacy(request: Request) -> PrivacyService:
    privacy: PrivacyService = request.app.state.privacy
    return privacy


Privacy = Annotated[PrivacyService, Depends(get_privacy)]


async def request_cause(
    request: Request, caller: Annotated[Principal, Depends(district_caller)]
) -> Cause:
    """Why and by whom, as on every change's events: the correlation id, the caller's subject
    (the pseudonymous actor the privacy audit records too). No If-Match: nothing is versioned."""
    return Cause(correlation_id_of(request), actor=caller.subject)


RequestCause = Annotated[Cause, Depends(request_cause)]


class ErasureAnswer(BaseModel):
    erasure_id: str
    subject: str = Field(description="SHA-256 of the person's canonical address")
    erased_at: datetime
    network_ids: list[str]
    member_ids: list[str] = Field(description="The committee seats anonymised (each stays)")
    staff_ids: list[str] = Field(description="The office posts anonymised")


router = subject_rights_router("registry", get_privacy)  # + the erasure, the registry's own


ONE_FORM = "give exactly one of: email; network_id with member_id; network_id with staff_id"


def _target(body: schemas.ErasureRequest) -> ErasureTarget:
    """The one form the body takes; 422 naming the fields that make it none or several."""
    given = body.model_dump(exclude_none=True)
    if set(given) == {"email"}:
        return ByAddress(given["email"])
    if set(given) == {"network_id", "member_id"}:
        return ByRecord(given["network_id"], "member", given["member_id"])
    if set(given) == {"network_id", "staff_id"}:
        return ByRecord(given["network_id"], "staff", given["staff_id"])
    if not given:
        blamed = ["email"]
    elif "network_id" in given and len(given) == 1:
        blamed = ["member_id"]
    else:  # several forms: every field beyond the first form's
        first = ["email"] if "email" in given else ["network_id", "member_id"]
        blamed = [name for name in given if name not in first] or list(given)
    raise invalid_input([{"loc": ("body", name), "msg": ONE_FORM} for name in blamed])


@router.post(
    "/erasures",
    status_code=status.HTTP_201_CREATED,
    summary="Erase a person from the whole system (Art. 17 DSGVO)",
    description=(
        "Give the address, or a committee seat or office post of the person. Every record of "
        "the address is anonymised in every network (a seat stays, held from-to by "
        "'Entfernte Person'), and one `person-erased` tells the other services. 201 for an "
        "erasure that anonymised something or that is the address's first; 200 with the "
        "earlier erasure if nothing was left to anonymise (nothing is published then)."
    ),
    responses={
        200: {"model": ErasureAnswer, "description": "Erased before; nothing was left"},
        **problem_responses(400, 401, 403, 404, 409, 413, 422),
    },
)
async def erase(
    body: schemas.ErasureRequest, privacy: Privacy, cause: RequestCause, response: Response
) -> ErasureAnswer:
    erased = await privacy.erase(_target(body), cause=cause)
    if not erased.new:
        response.status_code = status.HTTP_200_OK
    return ErasureAnswer.model_validate(erased.erasure.model_dump())
