"""Bot configuration use cases: create (with its stopped state), read, update, delete."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from application.pagination import Page, PageRequest
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState
from domain.bots.errors import BotConfigNotFound, BotIsRunning, BotStateNotFound
from domain.errors import InvalidInput
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class CreateBotConfigCommand:
    user_id: int
    fields: Mapping[str, Any]


async def _check_references(uow: UnitOfWork, exchange: ExchangeGateway, config: BotConfig) -> None:
    """The API key must be the user's own; the symbol must exist for the market type,
    and the leverage must be within the market's limit."""
    if config.api_key_id is not None:
        async with uow:
            api_key = await uow.api_keys.get(config.user_id, config.api_key_id)
        if api_key is None:
            raise InvalidInput(
                "Validation failed", details={"api_key_id": ["no such API key of yours"]}
            )
    market = await exchange.fetch_market(config.market_type, config.symbol)
    if config.leverage > market.max_leverage:
        raise InvalidInput(
            "Validation failed",
            details={"leverage": [f"at most {market.max_leverage} for {market.symbol}"]},
        )


class CreateBotConfig:
    """Create a configuration and its state (stopped), after checking its references."""

    def __init__(self, uow: UnitOfWork, exchange: ExchangeGateway, clock: Clock) -> None:
        self._uow = uow
        self._exchange = exchange
        self._clock = clock

    async def execute(self, command: CreateBotConfigCommand) -> BotConfig:
        now = self._clock.now()
        config = BotConfig(
            **command.fields, user_id=command.user_id, created_at=now, updated_at=now
        )
        await _check_references(self._uow, self._exchange, config)
        async with self._uow:
            config = await self._uow.bot_configs.add(config)
            assert config.id is not None
            await self._uow.bot_states.add(
                BotState(bot_config_id=config.id, user_id=config.user_id, last_updated_at=now)
            )
            await self._uow.commit()
        return config


class GetBotConfig:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int, config_id: int) -> BotConfig:
        async with self._uow:
            config = await self._uow.bot_configs.get(user_id, config_id)
        if config is None:
            raise BotConfigNotFound()
        return config


class ListBotConfigs:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int, page: PageRequest) -> Page[BotConfig]:
        async with self._uow:
            # One row past the page tells whether it is the last one; if it is (and it
            # is not empty past the end), the total is known without counting.
            items = await self._uow.bot_configs.list(user_id, page.limit + 1, page.offset)
            if len(items) <= page.limit and (items or page.offset == 0):
                return Page(items, page.offset + len(items))
            total = await self._uow.bot_configs.count(user_id)
        return Page(items[: page.limit], total)


@dataclass(frozen=True, slots=True)
class UpdateBotConfigCommand:
    user_id: int
    config_id: int
    changes: Mapping[str, Any]


class UpdateBotConfig:
    """Partial update. While the bot is active only fields that are safe for a live
    position may change; the rest answer 409 with the fields named."""

    def __init__(self, uow: UnitOfWork, exchange: ExchangeGateway, clock: Clock) -> None:
        self._uow = uow
        self._exchange = exchange
        self._clock = clock

    async def execute(self, command: UpdateBotConfigCommand) -> BotConfig:
        async with self._uow:
            config = await self._uow.bot_configs.get(command.user_id, command.config_id)
            state = await self._uow.bot_states.get(command.user_id, command.config_id)
        if config is None:
            raise BotConfigNotFound()
        if state is None:
            raise BotStateNotFound()
        updated = config.with_changes(command.changes, state.is_active, self._clock.now())
        if {"symbol", "position_type", "leverage", "api_key_id"} & set(command.changes):
            await _check_references(self._uow, self._exchange, updated)
        fresh = config.changes_what_is_traded(updated)
        if fresh and state.in_position:
            raise BotIsRunning(
                "The bot holds a position: close it (or set in_position to false) before "
                "changing what the bot trades",
                details={"fields": fresh},
            )
        indicators = config.changes_indicators(updated)
        async with self._uow:
            await self._uow.bot_configs.update(updated)
            if fresh or indicators:
                # Its engine, indicators and series belonged to the old settings.
                stored = await self._uow.bot_states.get(command.user_id, command.config_id)
                if stored is not None:
                    if fresh:
                        stored.start_fresh()
                    else:
                        stored.signals = None
                    await self._uow.bot_states.update(stored)
            await self._uow.commit()
        return updated


class DeleteBotConfig:
    """Delete a configuration with its state and trades; an active bot must be stopped first."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int, config_id: int) -> None:
        async with self._uow:
            state = await self._uow.bot_states.get(user_id, config_id)
            if state is not None and state.is_active:
                raise BotIsRunning(
                    "Stop the bot before deleting it", details={"status": state.status}
                )
            if not await self._uow.bot_configs.delete(user_id, config_id):
                raise BotConfigNotFound()
            await self._uow.commit()
