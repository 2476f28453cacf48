from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput

MAX_KEY_LENGTH = 128
HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's name for one request: 1-128 printable ASCII characters, per user."""

    value: str

    def __post_init__(self) -> None:
        value = self.value
        if not 1 <= len(value) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in value):
            raise InvalidInput(
                f"Invalid {HEADER}",
                details={HEADER: [f"1-{MAX_KEY_LENGTH} printable ASCII characters"]},
            )
