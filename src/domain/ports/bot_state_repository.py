from __future__ import annotations

from typing import Protocol

from domain.bots.bot_state import BotState


class BotStateRepository(Protocol):
    async def add(self, state: BotState) -> BotState: ...

    async def get(self, user_id: int, bot_config_id: int) -> BotState | None: ...

    async def update(self, state: BotState) -> None: ...

    async def list_in_position(self, user_id: int) -> list[BotState]:
        """The states of the user's bots that hold a position, by bot id."""
        ...
