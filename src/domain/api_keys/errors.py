from __future__ import annotations

from domain.errors import InvalidInput, NotFound, ServiceUnavailable


class ApiKeyAlreadyExists(InvalidInput):
    message = "API key already exists"


class ApiKeyNotFound(NotFound):
    message = "No API key configured"


class SecretUnreadable(ServiceUnavailable):
    """No configured Fernet key opens a stored secret (keys lost or rotated away)."""

    message = "Stored credentials cannot be decrypted"
