"""Reset tokens: random, sent once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets


def new_reset_token() -> str:
    return secrets.token_urlsafe(32)


def hash_reset_token(token: str) -> str:
    # A plain digest suffices: the token has 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
