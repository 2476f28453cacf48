from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt

from domain.ports.access_tokens import AccessClaims, AccessTokenCodec
from domain.ports.clock import Clock
from domain.users.errors import InvalidToken

ALGORITHM = "HS256"
# Tokens already verified, per process: a client sends the same token with every request.
VERIFIED_CACHE_SIZE = 4096


class JwtAccessTokenCodec(AccessTokenCodec):
    """HS256 tokens with `sub`, `iat`, `exp` and the user's token version `ver`.

    Only HS256 is accepted on the way in, which rejects `alg: none` and any
    algorithm-confusion attempt; every claim is required.

    A token that verified once is remembered with its claims: the same string carries
    the same signature, so only its times are checked again (against `wall_time`, the
    clock pyjwt uses). That spares decoding and an HMAC on every request.
    """

    def __init__(
        self, secret: str, clock: Clock, wall_time: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self._clock = clock
        self._wall_time = wall_time
        self._verified: dict[str, AccessClaims] = {}

    def issue(self, user_id: int, token_version: int, lifetime: timedelta) -> str:
        now = self._clock.now()
        payload = {
            "sub": str(user_id),
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "ver": token_version,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> AccessClaims:
        known = self._verified.get(token)
        if known is not None:
            now = self._wall_time()
            # pyjwt's rules: expired once exp <= now, not yet valid while iat > now.
            if known.issued_at.timestamp() <= now < known.expires_at.timestamp():
                return known
            raise InvalidToken()
        claims = self._verify_signed(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify_signed(self, token: str) -> AccessClaims:
        try:
            # `algorithms` refuses any other header `alg` (none, RS256 confusion).
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "iat", "exp", "ver"]},
            )
            subject = payload["sub"]
            version = payload["ver"]
            if not (isinstance(subject, str) and subject.isascii() and subject.isdigit()) or (
                int(subject) <= 0
            ):
                raise InvalidToken()
            if not isinstance(version, int) or isinstance(version, bool):
                raise InvalidToken()
            return AccessClaims(
                user_id=int(subject),
                token_version=version,
                issued_at=datetime.fromtimestamp(payload["iat"], UTC),
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError) as exc:
            raise InvalidToken() from exc
