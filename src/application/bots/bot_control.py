"""Start, stop and pause through the bot state machine, and the bot-state routes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from application.bots.stale_retry import retry_on_stale
from domain.bots.bot_state import BotState, BotStatus
from domain.bots.errors import BotConfigNotFound, BotIsRunning, BotStateNotFound
from domain.errors import InvalidInput
from domain.events import bot_state_changed
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.unit_of_work import UnitOfWork

# The worker owns these while the bot is active; an operator may correct them only
# while it is stopped or paused.
RUNTIME_FIELDS = frozenset(
    {
        "in_position",
        "entry_price",
        "current_position_size_coins",
        "trailing_stop_price",
        "max_price_since_entry",
        "take_profit_price",
        "stop_loss_price",
        "daily_pnl",
        "daily_trades_count",
        "last_error_message",
    }
)


class GetBotState:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int, bot_config_id: int) -> BotState:
        async with self._uow:
            state = await self._uow.bot_states.get(user_id, bot_config_id)
        if state is None:
            raise BotStateNotFound()
        return state


async def ensure_can_start(uow: UnitOfWork, state: BotState, requires_api_key: bool) -> None:
    """A bot starts with a valid API key of its owner, unless trading on paper."""
    config = await uow.bot_configs.get(state.user_id, state.bot_config_id)
    if config is None:
        raise BotConfigNotFound()
    if not requires_api_key:
        return
    api_key = (
        await uow.api_keys.get(state.user_id, config.api_key_id)
        if config.api_key_id is not None
        else None
    )
    if api_key is None or not api_key.is_valid:
        raise InvalidInput(
            "A valid API key is needed to start the bot",
            details={"api_key_id": ["set a valid API key of yours on the configuration"]},
        )


class ChangeBotStatus:
    """POST /bot-configs/{id}/start | stop | pause."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, requires_api_key: bool, events: EventBus
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._requires_api_key = requires_api_key
        self._events = events

    async def start(self, user_id: int, bot_config_id: int) -> BotState:
        """stopped or paused → pending."""
        return await self._apply(user_id, bot_config_id, BotStatus.PENDING)

    async def stop(self, user_id: int, bot_config_id: int) -> BotState:
        """any → stopped."""
        return await self._apply(user_id, bot_config_id, BotStatus.STOPPED)

    async def pause(self, user_id: int, bot_config_id: int) -> BotState:
        """running or waiting → paused."""
        return await self._apply(user_id, bot_config_id, BotStatus.PAUSED)

    async def _apply(self, user_id: int, bot_config_id: int, target: BotStatus) -> BotState:
        before: list[BotStatus] = []
        state = await retry_on_stale(
            lambda: self._apply_once(user_id, bot_config_id, target, before)
        )
        await _announce(self._events, state, before[-1])
        return state

    async def _apply_once(
        self, user_id: int, bot_config_id: int, target: BotStatus, before: list[BotStatus]
    ) -> BotState:
        async with self._uow:
            state = await self._uow.bot_states.get(user_id, bot_config_id)
            if state is None:
                raise BotConfigNotFound()
            before.append(state.status)
            now = self._clock.now()
            if target is BotStatus.STOPPED:
                state.stop(now)
                # A decision not yet sent is not sent after a stop (nor on the next start).
                await self._uow.order_intents.expire_unsent(
                    bot_config_id, "withdrawn: the bot was stopped"
                )
            elif target is BotStatus.PAUSED:
                state.pause(now)
            else:
                await ensure_can_start(self._uow, state, self._requires_api_key)
                state.start(now)
            await self._uow.bot_states.update(state)
            await self._uow.commit()
        return state


@dataclass(frozen=True, slots=True)
class UpdateBotStateCommand:
    user_id: int
    bot_config_id: int
    changes: Mapping[str, Any]


class UpdateBotState:
    """PUT /bot-states: a `status` goes through the state machine (409 when illegal);
    runtime fields may be corrected only while the bot is stopped or paused."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, requires_api_key: bool, events: EventBus
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._requires_api_key = requires_api_key
        self._events = events

    async def execute(self, command: UpdateBotStateCommand) -> BotState:
        before: list[BotStatus] = []
        state = await retry_on_stale(lambda: self._execute_once(command, before))
        await _announce(self._events, state, before[-1])
        return state

    async def _execute_once(
        self, command: UpdateBotStateCommand, before: list[BotStatus]
    ) -> BotState:
        changes = dict(command.changes)
        unknown = set(changes) - RUNTIME_FIELDS - {"status"}
        if unknown:
            raise InvalidInput(
                "Validation failed", details={name: ["cannot be set"] for name in sorted(unknown)}
            )
        target = changes.pop("status", None)
        async with self._uow:
            state = await self._uow.bot_states.get(command.user_id, command.bot_config_id)
            if state is None:
                raise BotStateNotFound()
            before.append(state.status)
            if changes and state.is_active:
                raise BotIsRunning(
                    "Stop or pause the bot before correcting its runtime state",
                    details={"fields": sorted(changes)},
                )
            now = self._clock.now()
            if changes:
                config = await self._uow.bot_configs.get(command.user_id, command.bot_config_id)
                if config is None:
                    raise BotStateNotFound()
                state.correct(changes, config.risk_params(), config.initial_capital)
            if target is not None and BotStatus(target) is not state.status:
                if BotStatus(target) is BotStatus.PENDING:
                    await ensure_can_start(self._uow, state, self._requires_api_key)
                state.transition(BotStatus(target), now)
            state.last_updated_at = now
            await self._uow.bot_states.update(state)
            await self._uow.commit()
        return state


async def _announce(events: EventBus, state: BotState, before: BotStatus) -> None:
    if state.status is not before:
        await events.publish(
            bot_state_changed(state.user_id, state.bot_config_id, state.status.value)
        )
