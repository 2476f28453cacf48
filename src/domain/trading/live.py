"""Live stepping: the backtest's decisions, one closed candle at a time, and only fresh ones.

A live bot keeps its TradingState, its strategy's indicator state and the open time of
the last candle it processed; each evaluation advances both over the candles closed
since, at O(1) cost per candle, by the same rules as the backtest (indicators seeded
at the bot's first candle, as a backtest over the same series would be).

Only the newest closed candle may decide: candles the bot missed (worker down, bot
stopped or slow) bring indicators and risk levels up to date without entries or signal
exits, and a stop, trailing stop or take profit crossed during them closes the position
now (one exit, sent at market, booked with its real fill).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.trading.risk_engine import (
    MS_PER_DAY,
    CandleInput,
    ExitReason,
    Fill,
    Side,
    TradingState,
    close_position,
    daily_limit_reached,
    step,
)
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyParams, strategy_spec
from domain.trading.strategy_state import StrategyState, advance_signals


@dataclass(frozen=True, slots=True)
class LiveProgress:
    state: TradingState
    signals: StrategyState
    fills: list[Fill]  # decisions to act on now
    last_open_ms: int | None  # the newest candle processed so far
    gap_exit: bool = False  # fills[0] is a risk exit crossed during missed candles


def advance(
    state: TradingState,
    signals: StrategyState,
    candles: CandleSeries,
    strategy: str,
    strategy_params: StrategyParams,
    risk: RiskParams,
    last_open_ms: int | None,
    now_ms: int | None = None,
    trading: bool = True,
) -> LiveProgress:
    """Apply the risk engine to the closed candles newer than `last_open_ms` (oldest
    first); only the newest may enter or exit on a signal. `trading=False` seeds the
    indicators from history without any decision. A gap exit is booked on the UTC day
    of `now_ms`, when it is sent."""
    warmup = strategy_spec(strategy).warmup(strategy_params)
    fills: list[Fill] = []
    gap_exit = False
    exit_day = -1
    newest = last_open_ms
    fresh = len(candles) - 1
    for i in range(len(candles)):
        open_ms = int(candles.open_time_ms[i])
        if last_open_ms is not None and open_ms <= last_open_ms:
            continue
        signals, at = advance_signals(signals, float(candles.close[i]), strategy, strategy_params)
        deciding = trading and i == fresh and not gap_exit
        candle = CandleInput(
            index=at.index,
            open_time_ms=open_ms,
            open=float(candles.open[i]),
            high=float(candles.high[i]),
            low=float(candles.low[i]),
            close=float(candles.close[i]),
            long_entry=at.long_entry,
            long_exit=at.long_exit and deciding,
            short_entry=at.short_entry,
            short_exit=at.short_exit and deciding,
            entries_allowed=deciding and at.index >= warmup,
        )
        state, new_fills = step(state, candle, risk)
        if new_fills and trading:
            fills.extend(new_fills)
            if i != fresh:
                gap_exit, exit_day = True, open_ms // MS_PER_DAY
        newest = open_ms
    if gap_exit and now_ms is not None and now_ms // MS_PER_DAY != exit_day:
        exit_fill = fills[0]
        state = rolled(state, now_ms // MS_PER_DAY, float(candles.close[fresh]))
        daily = state.daily_pnl + exit_fill.pnl
        state = replace(
            state,
            daily_pnl=daily,
            halted=daily_limit_reached(daily, state.day_start_equity, risk),
        )
    return LiveProgress(state, signals, fills, newest, gap_exit)


def rolled(state: TradingState, day: int, price: float) -> TradingState:
    """The engine's UTC day moved on to `day`: the day's counters start again."""
    if day == state.day:
        return state
    return replace(
        state,
        day=day,
        day_start_equity=state.equity(price),
        daily_pnl=0.0,
        daily_entries=0,
        halted=False,
    )


def check_ticker(
    state: TradingState, price: float, index: int, open_ms: int, now_ms: int, risk: RiskParams
) -> tuple[TradingState, Fill | None]:
    """Between candle closes: a stop loss, trailing stop or take profit that the last
    price has crossed closes the position now, at that price, instead of waiting for
    the candle to close. `index` and `open_ms` are the forming candle's: like a risk
    exit at a candle, it opens no new position at that candle's close. The exit counts
    on its own UTC day (`now_ms`), so a daily loss limit sees it. Liquidation is the
    exchange's own act and is not simulated here."""
    if state.side is Side.FLAT:
        return state, None
    reason: ExitReason | None = None
    if state.side is Side.LONG:
        if price <= state.stop_loss_price:
            reason = ExitReason.STOP_LOSS
        elif price <= state.trailing_stop_price:
            reason = ExitReason.TRAILING_STOP
        elif price >= state.take_profit_price:
            reason = ExitReason.TAKE_PROFIT
    else:
        if price >= state.stop_loss_price:
            reason = ExitReason.STOP_LOSS
        elif price >= state.trailing_stop_price:
            reason = ExitReason.TRAILING_STOP
        elif price <= state.take_profit_price:
            reason = ExitReason.TAKE_PROFIT
    if reason is None:
        return state, None
    state = rolled(state, now_ms // MS_PER_DAY, price)
    forming = CandleInput(index, open_ms, price, price, price, price)
    closed, fill = close_position(state, forming, price, reason, risk)
    return replace(closed, risk_exit_open_ms=open_ms), fill


def retry_exit(
    state: TradingState,
    price: float,
    index: int,
    open_ms: int,
    now_ms: int,
    reason: ExitReason,
    risk: RiskParams,
) -> tuple[TradingState, Fill | None]:
    """An exit the exchange refused, decided again now at the last price."""
    if state.side is Side.FLAT:
        return state, None
    state = rolled(state, now_ms // MS_PER_DAY, price)
    forming = CandleInput(index, open_ms, price, price, price, price)
    closed, fill = close_position(state, forming, price, reason, risk)
    return replace(closed, risk_exit_open_ms=open_ms), fill
