from __future__ import annotations

from typing import Protocol


class SecretVault(Protocol):
    """Symmetric encryption of secrets at rest, with key rotation."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, token: str) -> str:
        """The plaintext; SecretUnreadable when no configured key opens the token."""
        ...

    def rotate(self, token: str) -> str:
        """The same plaintext, encrypted again under the newest key."""
        ...
