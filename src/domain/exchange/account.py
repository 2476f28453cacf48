from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ExchangeAccount:
    """Whose exchange account a call acts on, with the decrypted credentials.

    Lives only in memory for the duration of a call; the secret is kept out of
    repr() so it cannot leak into logs or tracebacks.
    """

    user_id: int
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
