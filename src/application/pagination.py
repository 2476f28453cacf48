from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def __post_init__(self) -> None:
        problems: dict[str, list[str]] = {}
        if not 1 <= self.limit <= MAX_LIMIT:
            problems["limit"] = [f"1 to {MAX_LIMIT}"]
        if self.offset < 0:
            problems["offset"] = ["must not be negative"]
        if problems:
            raise InvalidInput("Validation failed", details=problems)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
