"""A live bot on in-memory fakes, driven candle by candle: for the tests of what a live
bot does with the exchange's answers (fills, refusals, partial fills, gaps)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptography.fernet import Fernet

from adapters.vault.fernet_vault import FernetVault
from application.api_keys.exchange_account import paper_account
from application.live.evaluate_bot import EvaluateBot, Evaluation
from application.live.exchange_time import ExchangeTime
from application.market_data.ensure_candles import EnsureCandles
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState, BotStatus
from domain.bots.order_intent import OrderIntent
from domain.bots.trade import Trade
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from domain.users.email import Email
from domain.users.user import User
from tests.support.fakes import (
    FakeClock,
    FakeExchange,
    FakeUnitOfWork,
    InMemoryCandleStore,
    RecordingEventBus,
)

HOUR = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
# Flat, then up: ema_crossover 2/3 enters at the close of candle 5 (at 101).
ENTRY_CLOSES = [100.0] * 5 + [101.0]


def candle(i: int, close: float, low: float | None = None, high: float | None = None) -> Candle:
    return Candle(
        T0 + i * HOUR,
        close,
        high if high is not None else close,
        low if low is not None else close,
        close,
        1.0,
    )


@dataclass
class LiveBot:
    config: BotConfig
    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    exchange: FakeExchange = field(default_factory=FakeExchange)
    store: InMemoryCandleStore = field(default_factory=InMemoryCandleStore)
    clock: FakeClock = field(
        default_factory=lambda: FakeClock(datetime.fromtimestamp(T0 / 1000, UTC))
    )
    events: RecordingEventBus = field(default_factory=RecordingEventBus)

    @classmethod
    async def started(cls, **fields: Any) -> LiveBot:
        now = datetime.fromtimestamp(T0 / 1000, UTC)
        values: dict[str, Any] = {
            "strategy": "ema_crossover", "ema_fast": 2, "ema_slow": 3, "timeframe": "1h",
            "position_size_perc": 50.0, "stop_loss_perc": 2.0, "take_profit_perc": None,
            "max_daily_trades": 50, **fields,
        }  # fmt: skip
        bot = cls(BotConfig(user_id=1, name="bot", symbol="BTCUSDT", created_at=now,
                            updated_at=now, **values))  # fmt: skip
        bot.exchange.move_balances = True
        bot.exchange.fee_rate = Decimal("0.001")
        bot.exchange.spot_free = {"USDT": Decimal("10000")}
        paper = paper_account(1)
        bot.exchange.valid_credentials.add((paper.api_key, paper.api_secret))
        async with bot.uow:
            await bot.uow.users.add(User(Email("trader@example.com"), "x", now))
            bot.config = await bot.uow.bot_configs.add(bot.config)
            assert bot.config.id is not None
            await bot.uow.bot_states.add(BotState(bot.config.id, 1, now, status=BotStatus.PENDING))
            await bot.uow.commit()
        return bot

    @property
    def id(self) -> int:
        assert self.config.id is not None
        return self.config.id

    def evaluator(self) -> EvaluateBot:
        return EvaluateBot(
            uow=self.uow,
            exchange=self.exchange,
            vault=FernetVault([Fernet.generate_key().decode()]),
            candles=self.store,
            ensure_candles=EnsureCandles(self.exchange, self.store, self.clock),
            events=self.events,
            clock=self.clock,
            exchange_id="binance",
            requires_api_key=False,
            history_candles=0,
            exchange_time=ExchangeTime(self.exchange, self.clock),
        )

    async def add_candles(self, candles: Sequence[Candle]) -> None:
        key = CandleKey("binance", self.config.market_type, "BTCUSDT", Timeframe("1h"))
        await self.store.upsert(key, candles)
        await self.store.mark_covered(key, T0, candles[-1].open_time_ms + HOUR - 1)

    async def after_close(self, index: int, price: float, seconds: float = 5) -> Evaluation | None:
        """Candle `index` has closed `seconds` ago; the last price is `price`."""
        self.clock.current = datetime.fromtimestamp((T0 + (index + 1) * HOUR) / 1000, UTC)
        self.clock.advance(timedelta(seconds=seconds))
        self.exchange.prices["BTCUSDT"] = Decimal(repr(price))
        return await self.evaluator().execute(1, self.id)

    async def run(self, closes: Sequence[float]) -> None:
        """Candles with these closes, each evaluated just after it closes."""
        await self.add_candles([candle(i, c) for i, c in enumerate(closes)])
        await self.after_close(-1, closes[0])  # the start: the series begins here
        for i, close in enumerate(closes):
            await self.after_close(i, close)

    async def state(self) -> BotState:
        async with self.uow:
            state = await self.uow.bot_states.get(1, self.id)
        assert state is not None
        return state

    def trades(self) -> list[Trade]:
        return sorted(self.uow.committed_trades.values(), key=lambda t: t.id or 0)

    def intents(self) -> list[OrderIntent]:
        return sorted(self.uow.committed_order_intents.values(), key=lambda i: i.id or 0)
