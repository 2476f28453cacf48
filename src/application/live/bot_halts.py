"""Stopping, pausing and alerting a live bot from the worker, with the exchange's words."""

from __future__ import annotations

from collections.abc import Callable

from domain.bots.bot_state import BotState, BotStatus
from domain.bots.errors import StaleBotState
from domain.errors import DomainError
from domain.events import bot_error, bot_state_changed
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.unit_of_work import UnitOfWork


def explain(exc: DomainError) -> str:
    """The error for a bot's last_error_message: ours, and the exchange's own words."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if details.get("reason") and str(details["reason"]) not in exc.message:
        return f"{exc.message}: {details['reason']}"
    if "needed" in details and "available" in details:
        return f"{exc.message}: needed {details['needed']}, available {details['available']}"
    return exc.message


def adopt(state: BotState, fresh: BotState) -> None:
    """Make `state` the stored copy `fresh` (same object, so callers see the update)."""
    for name in BotState.__dataclass_fields__:
        setattr(state, name, getattr(fresh, name))


class BotHalts:
    def __init__(self, uow: UnitOfWork, events: EventBus, clock: Clock) -> None:
        self._uow = uow
        self._events = events
        self._clock = clock

    async def stop(self, state: BotState, message: str) -> None:
        """Stopped, with the reason; a `bot_error` event says why."""
        await self._halt(state, message, lambda s: s.stop_with_error(message, self._clock.now()))

    async def pause(self, state: BotState, message: str) -> None:
        """Paused (a pending bot, which cannot pause, is stopped) with the reason: the
        user looks at the account and starts the bot again."""

        def pause(s: BotState) -> None:
            if s.status in (BotStatus.RUNNING, BotStatus.WAITING):
                s.pause(self._clock.now())
                s.last_error_message = message[:1000]
            else:
                s.stop_with_error(message, self._clock.now())

        await self._halt(state, message, pause)

    async def alert(self, state: BotState, message: str) -> None:
        """The bot goes on; its state and a `bot_error` event say what went wrong."""

        def note(s: BotState) -> None:
            s.last_error_message = message[:1000]

        await self._halt(state, message, note)

    async def _halt(self, state: BotState, message: str, apply: Callable[[BotState], None]) -> None:
        before = state.status
        for _ in range(5):
            apply(state)
            try:
                async with self._uow:
                    await self._uow.bot_states.update(state)
                    await self._uow.commit()
                break
            except StaleBotState:
                async with self._uow:
                    fresh = await self._uow.bot_states.get(state.user_id, state.bot_config_id)
                if fresh is None:
                    return
                adopt(state, fresh)
        await self._events.publish(bot_error(state.user_id, state.bot_config_id, message))
        if state.status is not before:
            await self._events.publish(
                bot_state_changed(state.user_id, state.bot_config_id, state.status.value)
            )
