from __future__ import annotations

from typing import Protocol

from domain.api_keys.api_key import ApiKey


class ApiKeyRepository(Protocol):
    """Stored exchange credentials, always scoped to their owner."""

    async def add(self, api_key: ApiKey) -> ApiKey:
        """Persist; ApiKeyAlreadyExists when the user already has one."""
        ...

    async def get_for_user(self, user_id: int) -> ApiKey | None: ...

    async def get(self, user_id: int, api_key_id: int) -> ApiKey | None:
        """The user's key with that id; None for another user's key, as for a missing one."""
        ...

    async def delete_for_user(self, user_id: int) -> bool:
        """Delete the user's key (and what cascades from it); False when there was none."""
        ...

    async def list_after(self, after_id: int, limit: int) -> list[ApiKey]:
        """Every user's keys with id > after_id, by id (batched maintenance such as rotation)."""
        ...

    async def update_ciphertexts(self, api_key: ApiKey) -> None: ...
