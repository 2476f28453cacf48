"""A live bot lives with what the exchange did: positions and PnL from the fills, every
order outcome a state, only fresh decisions, and the exchange's account checked."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from application.bots.bot_configs import UpdateBotConfig, UpdateBotConfigCommand
from application.bots.bot_control import ChangeBotStatus
from domain.bots.bot_state import BotStatus
from domain.bots.errors import BotIsRunning
from domain.bots.order_intent import IntentStatus, OrderIntent
from domain.exchange.errors import ExchangeUnavailable, OrderRejected
from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide
from domain.exchange.position import ExchangePosition, PositionSide
from domain.trading.risk_engine import Side
from tests.unit.live_harness import ENTRY_CLOSES, HOUR, T0, LiveBot, candle


def _binance_refusal(message: str) -> OrderRejected:
    return OrderRejected(message, details={"exchange_code": "-2010", "reason": message})


async def test_the_position_and_the_pnl_are_the_fills_not_the_engines_prices() -> None:
    bot = await LiveBot.started()
    await bot.run(ENTRY_CLOSES)
    # The exchange fills the entry above the close the engine decided on.
    entry_state = await bot.state()
    [buy] = bot.trades()
    assert buy.side.value == "BUY" and buy.price == Decimal("101.0")
    # Sold by a signal exit at a price the fills set, not the candle's close.
    closes = [*ENTRY_CLOSES, 99.0]
    await bot.add_candles([candle(i, c) for i, c in enumerate(closes)])
    bot.exchange.prices["BTCUSDT"] = Decimal("98.5")
    await bot.after_close(6, 98.5)
    trades = bot.trades()
    assert [t.side.value for t in trades] == ["BUY", "SELL"]
    sell = trades[1]
    assert sell.price == Decimal("98.5")  # the fill, not the engine's stop at 98.98
    expected = (
        sell.quote_quantity_filled
        - sell.commission_amount
        - buy.quote_quantity_filled
        - buy.commission_amount
    )
    assert sell.pnl == expected  # exactly, in Decimal
    state = await bot.state()
    assert state.engine is not None and not state.engine.in_position
    assert state.filled_position is None
    assert entry_state.current_position_size_coins == buy.quantity_filled
    # The engine's capital moved by the real PnL.
    assert state.engine.cash == pytest.approx(1000.0 + float(expected))
    assert state.daily_pnl == Decimal(repr(float(expected)))


async def test_a_refused_entry_leaves_the_bot_flat_and_stopped_with_the_exchanges_words() -> None:
    bot = await LiveBot.started()
    bot.exchange.order_errors = [
        _binance_refusal("Account has insufficient balance for requested action.")
    ]
    await bot.run(ENTRY_CLOSES)
    state = await bot.state()
    assert state.status is BotStatus.STOPPED
    assert state.last_error_message is not None
    assert "Account has insufficient balance" in state.last_error_message
    assert "(sending buy BTCUSDT)" in state.last_error_message
    assert state.engine is not None and not state.engine.in_position
    assert state.engine.cash == 1000.0 and state.engine.daily_entries == 0
    assert (state.in_position, bot.trades()) == (False, [])
    assert [i.status for i in bot.intents()] == [IntentStatus.FAILED]
    assert any("insufficient" in e["message"] for e in bot.events.of_type("bot_error"))


async def test_a_partly_filled_then_expired_entry_holds_what_was_filled() -> None:
    bot = await LiveBot.started()
    bot.exchange.fill_fractions = [Decimal("0.4")]
    await bot.run(ENTRY_CLOSES)
    state = await bot.state()
    [intent] = bot.intents()
    [trade] = bot.trades()
    assert intent.status is IntentStatus.PARTIALLY_FILLED
    assert intent.filled_amount == trade.quantity_filled < intent.amount
    assert state.filled_position is not None
    assert state.filled_position.quantity == trade.quantity_filled
    assert state.engine is not None
    assert state.engine.quantity == float(trade.quantity_filled)
    # What the unfilled part would have cost is still the bot's.
    spent = float(trade.quote_quantity_filled + trade.commission_amount)
    assert state.engine.cash == pytest.approx(1000.0 - spent)
    assert state.status is BotStatus.RUNNING
    assert any("then expired" in e["message"] for e in bot.events.of_type("bot_error"))


async def test_a_refused_exit_keeps_the_position_alerts_and_is_retried_under_a_new_id() -> None:
    bot = await LiveBot.started()
    await bot.run(ENTRY_CLOSES)
    held = (await bot.state()).filled_position
    assert held is not None
    closes = [*ENTRY_CLOSES, 96.0]  # through the 2 % stop
    await bot.add_candles([candle(i, c) for i, c in enumerate(closes)])
    bot.exchange.order_errors = [_binance_refusal("Market is closed.")]
    evaluation = await bot.after_close(6, 96.0)

    state = await bot.state()
    assert state.status is BotStatus.RUNNING
    assert state.engine is not None and state.engine.in_position
    assert state.filled_position == held
    assert state.last_error_message is not None
    assert "Market is closed." in state.last_error_message
    assert "the exit is retried" in state.last_error_message
    assert state.exit_retry_reason == "stop_loss"
    assert evaluation is not None and evaluation.next_due_ms is not None
    assert evaluation.next_due_ms <= T0 + 7 * HOUR + 5_000 + 30_000  # backoff, not a candle

    # Thirty seconds later, the same candle: tried again under its own client id.
    bot.clock.advance(timedelta(seconds=30))
    await bot.evaluator().execute(1, bot.id)
    intents = bot.intents()
    assert [i.status for i in intents] == [
        IntentStatus.FILLED, IntentStatus.FAILED, IntentStatus.FILLED,
    ]  # fmt: skip
    assert intents[1].client_order_id != intents[2].client_order_id
    state = await bot.state()
    assert state.engine is not None and not state.engine.in_position
    assert state.exit_retry_reason is None
    assert [t.side.value for t in bot.trades()] == ["BUY", "SELL"]


async def test_after_a_long_outage_one_order_at_most_for_the_newest_candle() -> None:
    bot = await LiveBot.started(stop_loss_perc=None)
    # Entries and exits flip back and forth while nobody looks.
    closes = [100.0] * 5 + [101.0, 99.0, 102.0, 98.0, 103.0, 97.0, 104.0, 96.0, 105.0]
    await bot.add_candles([candle(i, c) for i, c in enumerate(closes)])
    await bot.after_close(-1, 100.0)
    await bot.after_close(3, 100.0)
    assert bot.exchange.order_requests == []
    await bot.after_close(len(closes) - 1, 105.0)  # back after ten hours
    requests = bot.exchange.order_requests
    assert len(requests) <= 1
    newest = T0 + (len(closes) - 1) * HOUR
    assert all(i.candle_open_ms == newest for i in bot.intents())


async def test_a_stop_crossed_during_a_gap_closes_the_position_once_at_market() -> None:
    bot = await LiveBot.started()
    await bot.run(ENTRY_CLOSES)
    # Five hours without the worker; two hours in, the price dipped through the stop.
    gap = [candle(6, 101.0), candle(7, 101.5, low=97.0), candle(8, 102.0), candle(9, 103.0)]
    await bot.add_candles([candle(i, c) for i, c in enumerate(ENTRY_CLOSES)] + gap)
    await bot.after_close(9, 103.0)
    sells = [r for r in bot.exchange.order_requests if r.side is OrderSide.SELL]
    assert len(sells) == 1
    [_, exit_intent] = bot.intents()
    assert exit_intent.reason == "stop_loss"
    assert exit_intent.candle_open_ms == T0 + 9 * HOUR  # decided now, not two hours ago
    sell = bot.trades()[1]
    assert sell.price == Decimal("103.0")  # at market now, not at the old stop
    assert sell.pnl is not None and sell.pnl > 0
    await bot.after_close(9, 103.0, seconds=40)
    assert len([r for r in bot.exchange.order_requests if r.side is OrderSide.SELL]) == 1


async def test_an_order_intent_a_candle_old_is_never_sent_and_the_engine_forgets_it() -> None:
    bot = await LiveBot.started()
    await bot.run(ENTRY_CLOSES[:5])  # flat so far
    async with bot.uow:
        await bot.uow.order_intents.add(
            OrderIntent(
                user_id=1, bot_config_id=bot.id, client_order_id=f"tb{bot.id}-1767240000-0",
                symbol="BTCUSDT", market_type=MarketType.SPOT, side=OrderSide.BUY,
                amount=Decimal("4"), reduce_only=False, reason="entry",
                candle_open_ms=T0 + 4 * HOUR, created_at=bot.clock.now(),
            )
        )  # fmt: skip
        await bot.uow.commit()
    await bot.add_candles([candle(i, 100.0) for i in range(8)])
    await bot.after_close(6, 100.0)  # two candles later
    assert [i.status for i in bot.intents()] == [IntentStatus.EXPIRED]
    assert bot.exchange.order_requests == []


async def test_an_order_whose_answer_was_lost_is_asked_for_never_sent_twice() -> None:
    bot = await LiveBot.started()
    bot.exchange.order_errors = [ExchangeUnavailable()]  # lost before it was placed
    await bot.run(ENTRY_CLOSES)
    [intent] = bot.intents()
    assert intent.status is IntentStatus.PENDING and intent.sent_at is not None
    await bot.after_close(5, 101.0, seconds=15)  # too soon to know it is not coming
    assert len(bot.exchange.order_requests) == 1
    await bot.after_close(5, 101.0, seconds=40)
    assert len(bot.exchange.order_requests) == 2  # sent again, same client order id
    assert {r.client_order_id for r in bot.exchange.order_requests} == {intent.client_order_id}
    assert [i.status for i in bot.intents()] == [IntentStatus.FILLED]
    assert len(bot.trades()) == 1


async def test_a_stop_after_midnight_counts_on_the_new_day_and_blocks_new_entries() -> None:
    # 23:00 the bot buys; 00:20 the price is 6.2 % lower: a stop between candle closes.
    bot = await LiveBot.started(stop_loss_perc=6.0, max_daily_loss_perc=2.0)
    day = 86_400_000
    base = T0 + day - 6 * HOUR  # candles from 18:00 on, the entry closing at 24:00
    closes = ENTRY_CLOSES
    candles = [candle(i, c) for i, c in enumerate(closes)]
    shifted = [replace(c, open_time_ms=c.open_time_ms + base - T0) for c in candles]
    await bot.add_candles(shifted)
    bot.clock.current = bot.clock.current.fromtimestamp((base) / 1000, bot.clock.current.tzinfo)
    await bot.evaluator().execute(1, bot.id)
    for i in range(len(closes)):
        bot.clock.current = bot.clock.current.fromtimestamp(
            (base + (i + 1) * HOUR) / 1000 + 5, bot.clock.current.tzinfo
        )
        bot.exchange.prices["BTCUSDT"] = Decimal(repr(closes[i]))
        await bot.evaluator().execute(1, bot.id)
    assert (await bot.state()).in_position
    bot.clock.advance(timedelta(minutes=20))
    bot.exchange.prices["BTCUSDT"] = Decimal("94.7")
    await bot.evaluator().execute(1, bot.id)
    state = await bot.state()
    assert not state.in_position
    assert state.engine is not None
    assert state.engine.day == (T0 + day) // day  # the exit's own UTC day
    assert state.engine.daily_pnl < 0 and state.engine.halted
    assert state.status is BotStatus.WAITING
    assert state.daily_pnl < 0


async def test_a_deactivated_users_bot_is_stopped_with_a_reason() -> None:
    bot = await LiveBot.started()
    async with bot.uow:
        user = await bot.uow.users.get(1)
        assert user is not None
        user.deactivate()
        await bot.uow.users.update(user)
        await bot.uow.commit()
    await bot.run(ENTRY_CLOSES)
    state = await bot.state()
    assert state.status is BotStatus.STOPPED
    assert state.last_error_message == "The user's account is deactivated"
    assert bot.exchange.order_requests == []


async def test_a_position_on_the_futures_account_the_bot_did_not_open_pauses_it() -> None:
    bot = await LiveBot.started(position_type="futures", leverage=2)
    await bot.run(ENTRY_CLOSES[:3])
    assert (await bot.state()).status is BotStatus.RUNNING
    bot.exchange.positions = [
        ExchangePosition("BTCUSDT", PositionSide.LONG, Decimal("0.5"), Decimal(100), 2, Decimal(0))
    ]
    bot.clock.advance(timedelta(minutes=5))
    await bot.evaluator().execute(1, bot.id)
    state = await bot.state()
    assert state.status is BotStatus.PAUSED
    assert state.last_error_message is not None
    assert "the bot holds no BTCUSDT position but the exchange shows long 0.5" in (
        state.last_error_message
    )
    assert bot.events.of_type("bot_error")


async def test_a_refused_leverage_stops_a_futures_bot_and_the_transfer_is_made_once() -> None:
    bot = await LiveBot.started(
        position_type="futures", leverage=2, auto_transfer_funds=True,
        transfer_amount=Decimal(100),
    )  # fmt: skip
    bot.exchange.leverage_errors = [ExchangeUnavailable(), OrderRejected("Leverage 2 is not valid")]
    await bot.run(ENTRY_CLOSES[:2])
    state = await bot.state()
    assert len(bot.exchange.transfers) == 1  # not again on the retry
    assert state.status is BotStatus.STOPPED
    assert state.last_error_message is not None
    assert "Leverage 2 is not valid" in state.last_error_message


async def test_stopping_a_bot_withdraws_the_decisions_it_had_not_sent() -> None:
    bot = await LiveBot.started()
    async with bot.uow:
        await bot.uow.order_intents.add(
            OrderIntent(
                user_id=1, bot_config_id=bot.id, client_order_id=f"tb{bot.id}-1-0",
                symbol="BTCUSDT", market_type=MarketType.SPOT, side=OrderSide.BUY,
                amount=Decimal("4"), reduce_only=False, reason="entry", candle_open_ms=T0,
                created_at=bot.clock.now(),
            )
        )  # fmt: skip
        await bot.uow.commit()
    control = ChangeBotStatus(bot.uow, bot.clock, requires_api_key=False, events=bot.events)
    await control.stop(1, bot.id)
    assert [i.status for i in bot.intents()] == [IntentStatus.EXPIRED]


async def test_changing_the_symbol_of_a_stopped_bot_starts_it_fresh() -> None:
    bot = await LiveBot.started()
    await bot.run(ENTRY_CLOSES[:4])
    control = ChangeBotStatus(bot.uow, bot.clock, requires_api_key=False, events=bot.events)
    await control.stop(1, bot.id)
    bot.exchange.markets[MarketType.SPOT]["ETHUSDT"] = bot.exchange.markets[MarketType.SPOT][
        "BTCUSDT"
    ]
    update = UpdateBotConfig(bot.uow, bot.exchange, bot.clock)
    await update.execute(UpdateBotConfigCommand(1, bot.id, {"symbol": "ETHUSDT"}))
    state = await bot.state()
    assert (state.engine, state.signals, state.series_start_ms, state.last_candle_ms) == (
        None, None, None, None,
    )  # fmt: skip


async def test_what_a_bot_trades_cannot_change_while_it_holds_a_position() -> None:
    bot = await LiveBot.started()
    await bot.run(ENTRY_CLOSES)
    control = ChangeBotStatus(bot.uow, bot.clock, requires_api_key=False, events=bot.events)
    await control.stop(1, bot.id)
    update = UpdateBotConfig(bot.uow, bot.exchange, bot.clock)
    with pytest.raises(BotIsRunning) as refused:
        await update.execute(UpdateBotConfigCommand(1, bot.id, {"timeframe": "4h"}))
    assert refused.value.details == {"fields": ["timeframe"]}
    state = await bot.state()
    assert state.engine is not None and state.engine.side is Side.LONG


async def test_candles_close_by_the_exchanges_clock_not_ours() -> None:
    bot = await LiveBot.started()
    # The exchange's clock runs 20 s behind ours: at our 5 s past a close, its candle is
    # still forming there.
    bot.exchange.server_time = lambda: int(bot.clock.now().timestamp() * 1000) - 20_000
    await bot.add_candles([candle(i, c) for i, c in enumerate(ENTRY_CLOSES)])
    evaluator = bot.evaluator()
    bot.clock.current = bot.clock.current.fromtimestamp(T0 / 1000 + 30, bot.clock.current.tzinfo)
    await evaluator.execute(1, bot.id)  # the start, 30 s into candle 0
    for i in range(len(ENTRY_CLOSES)):
        bot.clock.current = bot.clock.current.fromtimestamp(
            (T0 + (i + 1) * HOUR) / 1000 + 5, bot.clock.current.tzinfo
        )
        bot.clock.advance(timedelta(minutes=1))  # and its offset measured again
        bot.exchange.prices["BTCUSDT"] = Decimal(repr(ENTRY_CLOSES[i]))
        await evaluator.execute(1, bot.id)
    # One minute past each close the exchange agrees candle i closed: the entry came.
    assert [i.candle_open_ms for i in bot.intents()] == [T0 + 5 * HOUR]
    state = await bot.state()
    assert state.last_candle_ms == T0 + 5 * HOUR
    # Five seconds past the next close by our clock, the exchange still says it is open.
    bot.clock.current = bot.clock.current.fromtimestamp(
        (T0 + 7 * HOUR) / 1000 + 5, bot.clock.current.tzinfo
    )
    await bot.add_candles([candle(i, c) for i, c in enumerate([*ENTRY_CLOSES, 101.5])])
    bot.exchange.server_time = lambda: int(bot.clock.now().timestamp() * 1000) - 20_000
    await bot.evaluator().execute(1, bot.id)
    assert (await bot.state()).last_candle_ms == T0 + 5 * HOUR
