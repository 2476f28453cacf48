from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    token_version: int
    issued_at: datetime
    expires_at: datetime


class AccessTokenCodec(Protocol):
    """Signs and verifies bearer tokens."""

    def issue(self, user_id: int, token_version: int, lifetime: timedelta) -> str: ...

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token; InvalidToken for anything else."""
        ...
