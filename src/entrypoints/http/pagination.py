"""`limit`/`offset` query parameters and the `X-Total-Count` header of every list route."""

from __future__ import annotations

from typing import Annotated, TypeVar

from litestar.datastructures import ResponseHeader
from litestar.params import QueryParameter

from adapters.persistence.types import MAX_INTEGER_ID
from application.pagination import DEFAULT_LIMIT, MAX_LIMIT
from entrypoints.http.json_response import DecimalNumberResponse

R = TypeVar("R")

TOTAL_COUNT_HEADER = "X-Total-Count"
TOTAL_COUNT = ResponseHeader(
    name=TOTAL_COUNT_HEADER,
    documentation_only=True,
    description="How many items match, over all pages",
)

Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size (default {DEFAULT_LIMIT})")
]
# Bounded like ids: no list holds more rows than there are ids, and an unbounded offset
# overflows the database's integer (a 500 on SQLite and PostgreSQL alike).
Offset = Annotated[
    int, QueryParameter(ge=0, le=MAX_INTEGER_ID, description="How many items to skip")
]


def paginated(items: list[R], total: int) -> DecimalNumberResponse[list[R]]:
    """A plain array body with the total in `X-Total-Count`."""
    return DecimalNumberResponse(items, headers={TOTAL_COUNT_HEADER: str(total)})
