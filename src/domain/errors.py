"""The domain's error hierarchy.

Entry points map each family to one HTTP status through a single table, so a
new error only needs to pick the right base class.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain and application layers raise on purpose."""

    message: str = "Domain error"

    def __init__(self, message: str | None = None, details: Any = None) -> None:
        self.message = message or self.message
        self.details = details
        super().__init__(self.message)


class NotFound(DomainError):
    message = "Not found"


class Conflict(DomainError):
    message = "Conflict"


class InvalidInput(DomainError):
    message = "Invalid input"


class AuthenticationFailed(DomainError):
    message = "Not authenticated"


class RateLimited(DomainError):
    message = "Too many requests"

    def __init__(self, retry_after_seconds: int, details: Any = None) -> None:
        super().__init__(self.message, details)
        self.retry_after_seconds = max(1, retry_after_seconds)


class ServiceUnavailable(DomainError):
    message = "Service unavailable"
