from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from domain.ports.access_tokens import AccessClaims, AccessTokenCodec
from domain.ports.clock import Clock
from domain.users.errors import InvalidToken

ALGORITHM = "HS256"


class JwtAccessTokenCodec(AccessTokenCodec):
    """HS256 tokens with `sub`, `iat`, `exp` and the user's token version `ver`.

    Only HS256 is accepted on the way in, which rejects `alg: none` and any
    algorithm-confusion attempt; every claim is required.
    """

    def __init__(self, secret: str, clock: Clock) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self._clock = clock

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
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise InvalidToken()
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
