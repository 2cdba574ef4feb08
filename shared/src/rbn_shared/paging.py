"""One shape for every list the APIs answer: `items`, `total`, `limit`, `offset`.

A client pages the same way through networks, members, conferences and deliveries: ask with
`limit` and `offset`, read `total` to know whether there is more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

ItemT = TypeVar("ItemT")

Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip")]


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int
    limit: int
    offset: int


def page(items: Sequence[ItemT], limit: int, offset: int) -> Page[ItemT]:
    """A page of a list held in memory."""
    return Page(
        items=list(items[offset : offset + limit]), total=len(items), limit=limit, offset=offset
    )
