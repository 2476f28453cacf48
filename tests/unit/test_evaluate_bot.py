"""EvaluateBot against in-memory fakes: what it does before and around trading."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from cryptography.fernet import Fernet

from adapters.events.in_process_bus import InProcessEventBus
from adapters.vault.fernet_vault import FernetVault
from application.live.evaluate_bot import EvaluateBot
from application.market_data.ensure_candles import EnsureCandles
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState, BotStatus
from domain.bots.order_intent import OrderIntent
from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide
from domain.users.email import Email
from domain.users.user import User
from tests.support.fakes import FakeClock, FakeExchange, FakeUnitOfWork, InMemoryCandleStore

NOW = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)


async def seeded(uow: FakeUnitOfWork, status: BotStatus) -> None:
    async with uow:
        await uow.users.add(User(email=Email("bot@example.com"), password_hash="x", created_at=NOW))
        config = await uow.bot_configs.add(
            BotConfig(user_id=1, name="bot", symbol="BTCUSDT", created_at=NOW, updated_at=NOW)
        )
        assert config.id is not None
        await uow.bot_states.add(
            BotState(bot_config_id=config.id, user_id=1, last_updated_at=NOW, status=status)
        )
        await uow.commit()


def evaluator(uow: FakeUnitOfWork, exchange: FakeExchange, *, paper: bool) -> EvaluateBot:
    clock = FakeClock(NOW)
    store = InMemoryCandleStore()
    return EvaluateBot(
        uow=uow,
        exchange=exchange,
        vault=FernetVault([Fernet.generate_key().decode()]),
        candles=store,
        ensure_candles=EnsureCandles(exchange, store, clock),
        events=InProcessEventBus(clock),
        clock=clock,
        exchange_id="binance",
        requires_api_key=not paper,
    )


async def test_a_bot_without_an_api_key_is_stopped_with_a_reason_on_a_real_exchange() -> None:
    uow = FakeUnitOfWork()
    await seeded(uow, BotStatus.PENDING)
    result = await evaluator(uow, FakeExchange(), paper=False).execute(1, 1)
    assert result is not None
    assert result.status is BotStatus.STOPPED
    state = uow.committed_bot_states[1]
    assert state.status is BotStatus.STOPPED
    assert state.last_error_message == "A valid API key is needed to trade"


async def test_stopped_and_unknown_bots_are_not_evaluated() -> None:
    uow = FakeUnitOfWork()
    await seeded(uow, BotStatus.STOPPED)
    exchange = FakeExchange()
    assert await evaluator(uow, exchange, paper=True).execute(1, 1) is None
    assert await evaluator(uow, exchange, paper=True).execute(2, 1) is None
    assert exchange.calls == []


async def test_a_pending_intent_left_by_a_crash_is_settled_before_anything_else() -> None:
    uow = FakeUnitOfWork()
    await seeded(uow, BotStatus.RUNNING)
    async with uow:
        await uow.order_intents.add(
            OrderIntent(
                user_id=1, bot_config_id=1, client_order_id="tb1-1767268800-0", symbol="BTCUSDT",
                market_type=MarketType.SPOT, side=OrderSide.BUY, amount=Decimal("0.01"),
                reduce_only=False, reason="entry", candle_open_ms=1_767_268_800_000,
                created_at=NOW,
            )
        )  # fmt: skip
        await uow.commit()
    exchange = FakeExchange()
    exchange.unavailable = True
    result = await evaluator(uow, exchange, paper=True).execute(1, 1)
    assert result is not None
    assert result.orders_filled == 0
    assert "create_order" not in exchange.calls
    async with uow:
        assert [i.client_order_id for i in await uow.order_intents.pending(1)] == [
            "tb1-1767268800-0"
        ]
