"""The live bot's engine state is stored with its bot state, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from domain.trading.live import LiveProgress
from domain.trading.risk_engine import Side, TradingState
from domain.trading.risk_params import RiskParams
from domain.trading.strategies import StrategyParams
from domain.trading.strategy_state import signals_over
from entrypoints.container import Container
from tests.integration.bots_api import create_bot, sign_up


async def test_the_engine_state_and_progress_are_read_back_exactly(
    client: httpx.AsyncClient, container: Container
) -> None:
    headers = await sign_up(client, "engine@example.com")
    bot = await create_bot(client, headers)
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()
    engine = TradingState(
        cash=812.5,
        side=Side.SHORT,
        quantity=0.125,
        entry_price=64_000.5,
        entry_index=41,
        entry_fee=3.2,
        entry_cost=1003.2,
        margin=1000.0,
        stop_loss_price=65_280.51,
        extreme_price=63_000.0,
        liquidation_price=70_144.55,
        day=20_000,
        day_start_equity=1815.7,
        daily_pnl=-12.25,
        daily_entries=2,
    )
    now = datetime(2024, 10, 4, 12, tzinfo=UTC)  # day 20,000, the engine's day
    async with container.uow() as uow:
        state = await uow.bot_states.get(me["id"], bot["id"])
        assert state is not None
        state.series_start_ms = 1_700_000_000_000
        signals, _ = signals_over([100.0, 101.5, 99.25] * 20, "ema_rsi", StrategyParams())
        progress = LiveProgress(engine, signals, [], 1_700_147_600_000)
        state.record_progress(progress, RiskParams(), now)
        await uow.bot_states.update(state)
        await uow.commit()
    async with container.uow() as uow:
        stored = await uow.bot_states.get(me["id"], bot["id"])
    assert stored is not None
    assert stored.engine is not None
    assert stored.engine.side is Side.SHORT
    assert math.isnan(stored.engine.take_profit_price)
    assert stored.engine.cash == engine.cash
    assert stored.engine.liquidation_price == engine.liquidation_price
    assert (stored.series_start_ms, stored.last_candle_ms) == (1_700_000_000_000, 1_700_147_600_000)
    assert stored.signals == signals
    assert stored.filled_position is not None  # adopted from the engine, exactly
    assert stored.filled_position == state.filled_position
    assert stored.filled_position.quantity == Decimal("0.125")
    shown = (await client.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
    assert shown["in_position"] is True
    assert shown["entry_price"] == 64_000.5
    assert shown["take_profit_price"] is None
    assert shown["daily_trades_count"] == 2
