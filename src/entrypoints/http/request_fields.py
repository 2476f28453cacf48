"""Input shapes shared by request bodies: finite numbers, storable amounts and ids, and
partial bodies whose left-out fields are `UNSET`."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from adapters.persistence.types import MAX_INTEGER_ID, MONEY_LIMIT, MONEY_SCALE
from domain.errors import InvalidInput

# JSON has no NaN or Infinity, but a lenient decoder turns the string "nan" into one;
# the bounds reject them (every comparison with NaN fails).
Number = Annotated[
    float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max, examples=[2.5])
]
RecordId = Annotated[int, msgspec.Meta(ge=1, le=MAX_INTEGER_ID)]
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_INTEGER_ID)]
# With an offset ("Z" or "+01:00"): a bare local time names no instant.
UtcTime = Annotated[datetime, msgspec.Meta(tz=True, examples=["2026-01-01T12:00:00Z"])]


def provided_fields(data: msgspec.Struct) -> dict[str, Any]:
    """The fields the client sent; the ones it left out are `UNSET`."""
    return {
        name: value
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }


def check_amounts(values: Mapping[str, Any]) -> None:
    """Every Decimal must fit a money column (finite, under 1e20, at most 18 decimal
    places), or the request fails with 400 naming the fields."""
    problems = {
        name: [f"a finite amount below 1e{MONEY_LIMIT.adjusted()}, at most {MONEY_SCALE} decimals"]
        for name, value in values.items()
        if isinstance(value, Decimal) and not _storable(value)
    }
    if problems:
        raise InvalidInput("Validation failed", details=problems)


def _storable(amount: Decimal) -> bool:
    if not amount.is_finite():
        return False
    exponent = amount.normalize().as_tuple().exponent
    return abs(amount) < MONEY_LIMIT and isinstance(exponent, int) and exponent >= -MONEY_SCALE
