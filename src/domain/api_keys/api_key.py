from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidInput

VISIBLE_PREFIX = 4
VISIBLE_SUFFIX = 4
MAX_LABEL_LENGTH = 100


def mask_api_key(api_key: str) -> str:
    """First 4 and last 4 characters; nothing at all of a key too short to hide a middle."""
    if len(api_key) <= VISIBLE_PREFIX + VISIBLE_SUFFIX:
        return "*" * max(len(api_key), 4)
    return f"{api_key[:VISIBLE_PREFIX]}****{api_key[-VISIBLE_SUFFIX:]}"


def check_credentials_format(api_key: str, api_secret: str) -> None:
    problems: dict[str, list[str]] = {}
    for name, value in (("api_key", api_key), ("secret_key", api_secret)):
        if not value or not value.isascii() or not value.isprintable() or " " in value:
            problems[name] = ["must be non-empty printable ASCII without spaces"]
        elif len(value) > 256:
            problems[name] = ["must be at most 256 characters"]
    if problems:
        raise InvalidInput("Validation failed", details=problems)


@dataclass(eq=False, slots=True)
class ApiKey:
    """A user's exchange credentials, held encrypted. One per user.

    The entity never carries the plaintext: use cases decrypt through the
    vault at the moment they call the exchange.
    """

    user_id: int
    label: str
    api_key_masked: str
    encrypted_api_key: str = field(repr=False)
    encrypted_secret: str = field(repr=False)
    created_at: datetime
    updated_at: datetime
    is_valid: bool = True
    id: int | None = None

    def __post_init__(self) -> None:
        if len(self.label) > MAX_LABEL_LENGTH:
            raise InvalidInput(
                "Validation failed", details={"label": [f"at most {MAX_LABEL_LENGTH} characters"]}
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("ApiKey", self.id))

    def reencrypted(self, encrypted_api_key: str, encrypted_secret: str, now: datetime) -> None:
        self.encrypted_api_key = encrypted_api_key
        self.encrypted_secret = encrypted_secret
        self.updated_at = now
