from __future__ import annotations

from typing import Any, cast

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import api_keys
from domain.api_keys.api_key import ApiKey
from domain.api_keys.errors import ApiKeyAlreadyExists
from domain.ports.api_key_repository import ApiKeyRepository


class SqlApiKeyRepository(ApiKeyRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, api_key: ApiKey) -> ApiKey:
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    insert(api_keys)
                    .values(
                        user_id=api_key.user_id,
                        label=api_key.label,
                        api_key_masked=api_key.api_key_masked,
                        encrypted_api_key=api_key.encrypted_api_key,
                        encrypted_secret=api_key.encrypted_secret,
                        is_valid=api_key.is_valid,
                        created_at=api_key.created_at,
                        updated_at=api_key.updated_at,
                    )
                    .returning(api_keys.c.id)
                )
        except IntegrityError as exc:
            raise ApiKeyAlreadyExists() from exc
        api_key.id = result.scalar_one()
        return api_key

    async def get_for_user(self, user_id: int) -> ApiKey | None:
        row = (
            await self._session.execute(select(api_keys).where(api_keys.c.user_id == user_id))
        ).first()
        return _to_api_key(row) if row else None

    async def get(self, user_id: int, api_key_id: int) -> ApiKey | None:
        row = (
            await self._session.execute(
                select(api_keys).where(api_keys.c.id == api_key_id, api_keys.c.user_id == user_id)
            )
        ).first()
        return _to_api_key(row) if row else None

    async def delete_for_user(self, user_id: int) -> bool:
        result = await self._session.execute(delete(api_keys).where(api_keys.c.user_id == user_id))
        return cast("CursorResult[Any]", result).rowcount > 0

    async def list_after(self, after_id: int, limit: int) -> list[ApiKey]:
        rows = await self._session.execute(
            select(api_keys).where(api_keys.c.id > after_id).order_by(api_keys.c.id).limit(limit)
        )
        return [_to_api_key(row) for row in rows]

    async def update_ciphertexts(self, api_key: ApiKey) -> None:
        await self._session.execute(
            update(api_keys)
            .where(api_keys.c.id == api_key.id)
            .values(
                encrypted_api_key=api_key.encrypted_api_key,
                encrypted_secret=api_key.encrypted_secret,
                updated_at=api_key.updated_at,
            )
        )


def _to_api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        user_id=row.user_id,
        label=row.label,
        api_key_masked=row.api_key_masked,
        encrypted_api_key=row.encrypted_api_key,
        encrypted_secret=row.encrypted_secret,
        is_valid=row.is_valid,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
