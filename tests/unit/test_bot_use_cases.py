"""Bot configuration, bot control and trade use cases against in-memory fakes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.events.in_process_bus import InProcessEventBus
from application.bots.bot_configs import (
    CreateBotConfig,
    CreateBotConfigCommand,
    DeleteBotConfig,
    GetBotConfig,
    ListBotConfigs,
    UpdateBotConfig,
    UpdateBotConfigCommand,
)
from application.bots.bot_control import (
    ChangeBotStatus,
    GetBotState,
    UpdateBotState,
    UpdateBotStateCommand,
)
from application.pagination import PageRequest
from application.trades.trades import GetTrade, ListTrades, ListTradesQuery, RecordTrade
from domain.api_keys.api_key import ApiKey
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotStatus
from domain.bots.errors import (
    BotConfigNotFound,
    BotIsRunning,
    BotStateNotFound,
    IllegalTransition,
    TradeNotFound,
)
from domain.bots.trade import Trade, TradeSide
from domain.errors import InvalidInput
from domain.exchange.errors import UnknownSymbol
from domain.exchange.market import MarketType
from domain.ports.trade_repository import TradeFilter
from tests.support.fakes import FakeClock, FakeExchange, FakeUnitOfWork

ALICE, BOB = 1, 2
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def exchange() -> FakeExchange:
    return FakeExchange()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def give_api_key(uow: FakeUnitOfWork, user_id: int, is_valid: bool = True) -> int:
    key_id = len(uow.committed_api_keys) + 1
    uow.committed_api_keys[key_id] = ApiKey(
        user_id=user_id,
        label="",
        api_key_masked="Abcd****wxyz",
        encrypted_api_key="encrypted",
        encrypted_secret="encrypted",
        created_at=T0,
        updated_at=T0,
        is_valid=is_valid,
        id=key_id,
    )
    return key_id


async def create_bot(
    uow: FakeUnitOfWork,
    exchange: FakeExchange,
    clock: FakeClock,
    user_id: int = ALICE,
    **fields: Any,
) -> BotConfig:
    command = CreateBotConfigCommand(
        user_id=user_id, fields={"name": "Bot", "symbol": "BTCUSDT", **fields}
    )
    return await CreateBotConfig(uow, exchange, clock).execute(command)


def control(
    uow: FakeUnitOfWork, clock: FakeClock, requires_api_key: bool = True
) -> ChangeBotStatus:
    return ChangeBotStatus(
        uow, clock, requires_api_key=requires_api_key, events=InProcessEventBus(clock)
    )


def a_trade(bot_id: int, user_id: int = ALICE, **changes: Any) -> Trade:
    trade = Trade(
        user_id=user_id,
        bot_config_id=bot_id,
        symbol="BTCUSDT",
        side=TradeSide.BUY,
        order_type="MARKET",
        price=Decimal("65000"),
        quantity_filled=Decimal("0.001"),
        quote_quantity_filled=Decimal("65"),
        timestamp=T0,
    )
    return dataclasses.replace(trade, **changes)


async def test_creating_a_bot_stores_it_with_a_stopped_state_in_one_commit(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    config = await create_bot(uow, exchange, clock, timeframe="4h")

    assert config.id is not None
    assert uow.commits == 1
    assert uow.committed_bot_configs[config.id].timeframe == "4h"
    (state,) = uow.committed_bot_states.values()
    assert state.bot_config_id == config.id
    assert state.status is BotStatus.STOPPED
    assert state.user_id == ALICE


async def test_a_bot_cannot_use_another_users_key_or_an_unlisted_symbol(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    bobs_key = give_api_key(uow, BOB)

    with pytest.raises(InvalidInput) as refused:
        await create_bot(uow, exchange, clock, api_key_id=bobs_key)
    assert "api_key_id" in refused.value.details
    with pytest.raises(UnknownSymbol):
        await create_bot(uow, exchange, clock, symbol="ETHUSDT")
    assert uow.commits == 0
    assert uow.committed_bot_configs == {}


async def test_leverage_is_capped_by_the_markets_own_limit(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    market = exchange.markets[MarketType.FUTURES]["BTCUSDT"]
    exchange.markets[MarketType.FUTURES]["BTCUSDT"] = dataclasses.replace(market, max_leverage=20)

    with pytest.raises(InvalidInput) as refused:
        await create_bot(uow, exchange, clock, position_type="futures", leverage=50)
    assert "leverage" in refused.value.details
    config = await create_bot(uow, exchange, clock, position_type="futures", leverage=20)
    assert config.leverage == 20


async def test_another_users_bot_is_not_found_by_any_use_case(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    config = await create_bot(uow, exchange, clock)
    assert config.id is not None

    with pytest.raises(BotConfigNotFound):
        await GetBotConfig(uow).execute(BOB, config.id)
    with pytest.raises(BotConfigNotFound):
        await UpdateBotConfig(uow, exchange, clock).execute(
            UpdateBotConfigCommand(BOB, config.id, {"name": "Mine"})
        )
    with pytest.raises(BotConfigNotFound):
        await DeleteBotConfig(uow).execute(BOB, config.id)
    with pytest.raises(BotConfigNotFound):
        await control(uow, clock).stop(BOB, config.id)
    with pytest.raises(BotStateNotFound):
        await GetBotState(uow).execute(BOB, config.id)
    with pytest.raises(BotConfigNotFound):
        await RecordTrade(uow).execute(a_trade(config.id, user_id=BOB))
    assert (await ListBotConfigs(uow).execute(BOB, PageRequest())).total == 0


async def test_the_list_is_oldest_first_and_counts_every_page(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    ids = [(await create_bot(uow, exchange, clock, name=f"Bot {n}")).id for n in range(3)]
    await create_bot(uow, exchange, clock, user_id=BOB)

    page = await ListBotConfigs(uow).execute(ALICE, PageRequest(limit=2, offset=1))

    assert [c.id for c in page.items] == ids[1:]
    assert page.total == 3


@settings(max_examples=60, deadline=None)
@given(
    stored=st.integers(min_value=0, max_value=12),
    limit=st.integers(min_value=1, max_value=6),
    offset=st.integers(min_value=0, max_value=15),
)
async def test_every_page_holds_its_slice_and_the_exact_total(
    stored: int, limit: int, offset: int
) -> None:
    uow, exchange, clock = FakeUnitOfWork(), FakeExchange(), FakeClock(T0)
    ids = [(await create_bot(uow, exchange, clock, name=f"Bot {n}")).id for n in range(stored)]
    await create_bot(uow, exchange, clock, user_id=BOB)

    page = await ListBotConfigs(uow).execute(ALICE, PageRequest(limit=limit, offset=offset))

    assert [c.id for c in page.items] == ids[offset : offset + limit]
    assert page.total == stored


async def test_an_active_bot_refuses_unsafe_changes_but_takes_safe_ones(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    config = await create_bot(uow, exchange, clock, api_key_id=give_api_key(uow, ALICE))
    assert config.id is not None
    await control(uow, clock).start(ALICE, config.id)
    update = UpdateBotConfig(uow, exchange, clock)

    with pytest.raises(BotIsRunning) as refused:
        await update.execute(
            UpdateBotConfigCommand(ALICE, config.id, {"symbol": "ETHUSDT", "leverage": 1})
        )
    assert refused.value.details == {"fields": ["symbol"]}
    clock.advance(timedelta(minutes=5))
    updated = await update.execute(
        UpdateBotConfigCommand(ALICE, config.id, {"stop_loss_perc": 1.0})
    )

    assert updated.stop_loss_perc == 1.0
    assert updated.updated_at == T0 + timedelta(minutes=5)
    assert uow.committed_bot_configs[config.id].stop_loss_perc == 1.0


async def test_deleting_needs_a_stopped_bot_and_takes_its_state_and_trades(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    config = await create_bot(uow, exchange, clock, api_key_id=give_api_key(uow, ALICE))
    other = await create_bot(uow, exchange, clock, name="Other")
    assert config.id is not None and other.id is not None
    await RecordTrade(uow).execute(a_trade(config.id))
    kept = await RecordTrade(uow).execute(a_trade(other.id))
    await control(uow, clock).start(ALICE, config.id)

    with pytest.raises(BotIsRunning):
        await DeleteBotConfig(uow).execute(ALICE, config.id)
    await control(uow, clock).stop(ALICE, config.id)
    await DeleteBotConfig(uow).execute(ALICE, config.id)

    assert set(uow.committed_bot_configs) == {other.id}
    assert [s.bot_config_id for s in uow.committed_bot_states.values()] == [other.id]
    assert list(uow.committed_trades.values()) == [kept]


async def test_starting_needs_a_valid_key_unless_on_paper(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    keyless = await create_bot(uow, exchange, clock)
    invalid = await create_bot(
        uow, exchange, clock, api_key_id=give_api_key(uow, ALICE, is_valid=False)
    )
    assert keyless.id is not None and invalid.id is not None

    for bot_id in (keyless.id, invalid.id):
        with pytest.raises(InvalidInput) as refused:
            await control(uow, clock).start(ALICE, bot_id)
        assert "api_key_id" in refused.value.details
    state = await control(uow, clock, requires_api_key=False).start(ALICE, keyless.id)

    assert state.status is BotStatus.PENDING
    assert (await GetBotState(uow).execute(ALICE, keyless.id)).status is BotStatus.PENDING
    assert (await GetBotState(uow).execute(ALICE, invalid.id)).status is BotStatus.STOPPED


async def test_status_changes_follow_the_state_machine(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    config = await create_bot(uow, exchange, clock)
    assert config.id is not None
    bot = control(uow, clock, requires_api_key=False)
    put_state = UpdateBotState(uow, clock, requires_api_key=False, events=InProcessEventBus(clock))

    await bot.start(ALICE, config.id)
    with pytest.raises(IllegalTransition):
        await bot.start(ALICE, config.id)
    with pytest.raises(IllegalTransition):
        await bot.pause(ALICE, config.id)
    await put_state.execute(UpdateBotStateCommand(ALICE, config.id, {"status": "running"}))
    assert (await bot.pause(ALICE, config.id)).status is BotStatus.PAUSED
    assert (await bot.stop(ALICE, config.id)).status is BotStatus.STOPPED
    with pytest.raises(IllegalTransition):
        await put_state.execute(UpdateBotStateCommand(ALICE, config.id, {"status": "running"}))
    assert (await GetBotState(uow).execute(ALICE, config.id)).status is BotStatus.STOPPED


async def test_runtime_fields_are_corrected_only_while_the_bot_rests(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    config = await create_bot(uow, exchange, clock)
    assert config.id is not None
    put_state = UpdateBotState(uow, clock, requires_api_key=False, events=InProcessEventBus(clock))

    corrected = await put_state.execute(
        UpdateBotStateCommand(ALICE, config.id, {"daily_trades_count": 2})
    )
    assert corrected.daily_trades_count == 2
    with pytest.raises(InvalidInput) as read_only:
        await put_state.execute(UpdateBotStateCommand(ALICE, config.id, {"id": 9}))
    assert read_only.value.details == {"id": ["cannot be set"]}
    await control(uow, clock, requires_api_key=False).start(ALICE, config.id)
    with pytest.raises(BotIsRunning):
        await put_state.execute(UpdateBotStateCommand(ALICE, config.id, {"daily_trades_count": 0}))
    assert (await GetBotState(uow).execute(ALICE, config.id)).daily_trades_count == 2


async def test_a_position_correction_moves_the_engine_and_its_levels_with_it(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    config = await create_bot(uow, exchange, clock)
    assert config.id is not None
    put_state = UpdateBotState(uow, clock, requires_api_key=False, events=InProcessEventBus(clock))
    with pytest.raises(InvalidInput) as vague:
        await put_state.execute(UpdateBotStateCommand(ALICE, config.id, {"in_position": True}))
    assert set(vague.value.details) == {"current_position_size_coins", "entry_price"}
    with pytest.raises(InvalidInput) as flat:
        await put_state.execute(UpdateBotStateCommand(ALICE, config.id, {"stop_loss_price": 1}))
    assert flat.value.details == {"stop_loss_price": ["only for an open position"]}

    adopted = await put_state.execute(
        UpdateBotStateCommand(
            ALICE,
            config.id,
            {"in_position": True, "entry_price": Decimal("100"),
             "current_position_size_coins": Decimal("0.5")},
        )
    )  # fmt: skip
    assert adopted.engine is not None and adopted.filled_position is not None
    assert (adopted.engine.quantity, adopted.engine.entry_price) == (0.5, 100.0)
    assert adopted.filled_position.quantity == Decimal("0.5")
    assert adopted.entry_price == Decimal(100)
    if config.stop_loss_perc:
        expected_stop = 100.0 * (1 - float(config.stop_loss_perc) / 100)
        assert adopted.stop_loss_price == Decimal(repr(expected_stop))
    moved = await put_state.execute(
        UpdateBotStateCommand(ALICE, config.id, {"stop_loss_price": Decimal("97.5")})
    )
    assert moved.engine is not None and moved.engine.stop_loss_price == 97.5
    assert moved.engine.quantity == 0.5  # the position itself unchanged
    forgotten = await put_state.execute(
        UpdateBotStateCommand(ALICE, config.id, {"in_position": False})
    )
    assert forgotten.filled_position is None
    assert forgotten.engine is not None and not forgotten.engine.in_position


async def test_trades_are_listed_newest_first_with_filters(
    uow: FakeUnitOfWork, exchange: FakeExchange, clock: FakeClock
) -> None:
    config = await create_bot(uow, exchange, clock)
    assert config.id is not None
    record = RecordTrade(uow)
    old = await record.execute(a_trade(config.id, timestamp=T0))
    new = await record.execute(
        a_trade(config.id, timestamp=T0 + timedelta(hours=1), side=TradeSide.SELL)
    )
    lister = ListTrades(uow)

    everything = await lister.execute(ListTradesQuery(ALICE, TradeFilter(), PageRequest()))
    sells = await lister.execute(
        ListTradesQuery(ALICE, TradeFilter(side=TradeSide.SELL), PageRequest())
    )
    early = await lister.execute(ListTradesQuery(ALICE, TradeFilter(end=T0), PageRequest()))
    bobs = await lister.execute(ListTradesQuery(BOB, TradeFilter(), PageRequest()))

    assert [t.id for t in everything.items] == [new.id, old.id]
    assert everything.total == 2
    assert [t.id for t in sells.items] == [new.id]
    assert [t.id for t in early.items] == [old.id]
    assert bobs.total == 0
    assert new.id is not None
    assert (await GetTrade(uow).execute(ALICE, new.id)).side is TradeSide.SELL
    with pytest.raises(TradeNotFound):
        await GetTrade(uow).execute(BOB, new.id)
