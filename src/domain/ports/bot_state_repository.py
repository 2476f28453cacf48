from __future__ import annotations

from typing import Protocol

from domain.bots.bot_state import BotState


class BotStateRepository(Protocol):
    async def add(self, state: BotState) -> BotState: ...

    async def get(self, user_id: int, bot_config_id: int) -> BotState | None: ...

    async def update(self, state: BotState) -> None: ...
