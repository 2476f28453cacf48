from __future__ import annotations

from typing import Any, cast

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import password_resets
from domain.ports.password_reset_repository import PasswordResetRepository
from domain.users.password_reset import PasswordResetRequest


class SqlPasswordResetRepository(PasswordResetRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, request: PasswordResetRequest) -> PasswordResetRequest:
        result = await self._session.execute(
            insert(password_resets)
            .values(
                user_id=request.user_id,
                token_hash=request.token_hash,
                expires_at=request.expires_at,
                used_at=request.used_at,
                created_at=request.created_at,
            )
            .returning(password_resets.c.id)
        )
        request.id = result.scalar_one()
        return request

    async def get_by_token_hash(self, token_hash: str) -> PasswordResetRequest | None:
        row = (
            await self._session.execute(
                select(password_resets).where(password_resets.c.token_hash == token_hash)
            )
        ).first()
        return _to_request(row) if row else None

    async def save_redemption(self, request: PasswordResetRequest) -> bool:
        result = await self._session.execute(
            update(password_resets)
            .where(password_resets.c.id == request.id, password_resets.c.used_at.is_(None))
            .values(used_at=request.used_at)
        )
        return cast("CursorResult[Any]", result).rowcount == 1

    async def invalidate_for_user(self, user_id: int) -> None:
        await self._session.execute(
            delete(password_resets).where(
                password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None)
            )
        )


def _to_request(row: Any) -> PasswordResetRequest:
    return PasswordResetRequest(
        id=row.id,
        user_id=row.user_id,
        token_hash=row.token_hash,
        expires_at=row.expires_at,
        used_at=row.used_at,
        created_at=row.created_at,
    )
