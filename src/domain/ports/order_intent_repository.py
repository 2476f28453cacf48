from __future__ import annotations

from typing import Protocol

from domain.bots.order_intent import OrderIntent


class OrderIntentRepository(Protocol):
    async def add(self, intent: OrderIntent) -> OrderIntent:
        """Persist; an intent whose client order id exists already is returned as stored."""
        ...

    async def pending(self, bot_config_id: int | None = None) -> list[OrderIntent]:
        """Intents not yet known to be filled or failed, oldest first (all bots when None)."""
        ...

    async def update(self, intent: OrderIntent) -> None: ...

    async def mark_sent(self, intent: OrderIntent) -> bool:
        """Store `intent.sent_at` if the intent is still pending; False when it was settled
        or expired meanwhile (the bot was stopped): then it must not be sent."""
        ...

    async def expire_unsent(self, bot_config_id: int, reason: str) -> int:
        """Expire the bot's pending intents that were never sent; returns how many."""
        ...
