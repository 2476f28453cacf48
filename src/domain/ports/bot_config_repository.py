from __future__ import annotations

from typing import Protocol

from domain.bots.bot_config import BotConfig


class BotConfigRepository(Protocol):
    """Bot configurations, always scoped to their owner: another user's id is "not found"."""

    async def add(self, config: BotConfig) -> BotConfig: ...

    async def get(self, user_id: int, config_id: int) -> BotConfig | None: ...

    async def list(self, user_id: int, limit: int, offset: int) -> list[BotConfig]:
        """Oldest first."""
        ...

    async def count(self, user_id: int) -> int: ...

    async def update(self, config: BotConfig) -> None: ...

    async def delete(self, user_id: int, config_id: int) -> bool:
        """Delete the configuration with its state and trades; False when not found."""
        ...
