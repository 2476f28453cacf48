from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import users
from domain.ports.user_repository import UserRepository
from domain.users.email import Email
from domain.users.errors import EmailAlreadyRegistered
from domain.users.user import User

_BY_ID = select(users).where(users.c.id == bindparam("user_id"))


class SqlUserRepository(UserRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user: User) -> User:
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    insert(users)
                    .values(
                        email=user.email.value,
                        password_hash=user.password_hash,
                        is_active=user.is_active,
                        token_version=user.token_version,
                        created_at=user.created_at,
                        updated_at=user.created_at,
                    )
                    .returning(users.c.id)
                )
        except IntegrityError as exc:
            raise EmailAlreadyRegistered() from exc
        user.id = result.scalar_one()
        return user

    async def get(self, user_id: int) -> User | None:
        row = (await self._session.execute(_BY_ID, {"user_id": user_id})).first()
        return _to_user(row) if row else None

    async def get_by_email(self, email: Email) -> User | None:
        row = (
            await self._session.execute(select(users).where(users.c.email == email.value))
        ).first()
        return _to_user(row) if row else None

    async def update(self, user: User) -> None:
        await self._session.execute(
            update(users)
            .where(users.c.id == user.id)
            .values(
                password_hash=user.password_hash,
                is_active=user.is_active,
                token_version=user.token_version,
                updated_at=datetime.now(UTC),
            )
        )

    async def list(self, limit: int, offset: int) -> list[User]:
        rows = await self._session.execute(
            select(users).order_by(users.c.id).limit(limit).offset(offset)
        )
        return [_to_user(row) for row in rows]


def _to_user(row: Any) -> User:
    return User(
        id=row.id,
        email=Email(row.email),
        password_hash=row.password_hash,
        is_active=row.is_active,
        token_version=row.token_version,
        created_at=row.created_at,
    )
