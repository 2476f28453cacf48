"""The numba backtest core: indicators, signals and the full risk engine in one pass.

Every arithmetic operation repeats src/domain/trading (indicators.py,
strategies.py, risk_engine.py) in the same order, so that this kernel and the
pure-Python reference decide identically; tests/unit/test_kernel_parity.py
proves it with hypothesis. Change one, change the other.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

MS_PER_DAY = 86_400_000

# Strategy codes (order of domain.trading.strategies.StrategyName).
EMA_CROSSOVER = 0
EMA_RSI = 1
RSI_REVERSION = 2
EMA_TREND = 3
CUSTOM = 4

# Exit reason codes (order of domain.trading.risk_engine.ExitReason).
LIQUIDATION = 0
STOP_LOSS = 1
TRAILING_STOP = 2
TAKE_PROFIT = 3
SIGNAL = 4
END_OF_DATA = 5

# Risk parameter vector layout.
R_FUTURES = 0
R_LEVERAGE = 1
R_FEE = 2
R_SLIPPAGE = 3
R_STOP = 4
R_TARGET = 5
R_TRAIL = 6
R_TRAIL_ACTIVE = 7
R_SIZE_PERC = 8
R_SIZE_FIXED = 9
R_MAX_DAILY = 10
R_DAILY_TARGET = 11
R_DAILY_LOSS = 12
R_MMR = 13
R_INITIAL = 14
RISK_VECTOR_SIZE = 15

# Trade record columns.
T_SIDE = 0
T_ENTRY_INDEX = 1
T_EXIT_INDEX = 2
T_ENTRY_PRICE = 3
T_EXIT_PRICE = 4
T_QUANTITY = 5
T_ENTRY_FEE = 6
T_EXIT_FEE = 7
T_PNL = 8
T_REASON = 9
TRADE_COLUMNS = 10


@njit(cache=True)
def ema(values: np.ndarray, period: int) -> np.ndarray:
    n = values.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    alpha = 2.0 / (period + 1.0)
    out[0] = values[0]
    for i in range(1, n):
        out[i] = out[i - 1] + alpha * (values[i] - out[i - 1])
    return out


@njit(cache=True)
def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0.0:
        if avg_gain == 0.0:
            return 50.0
        return 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


@njit(cache=True)
def rsi(closes: np.ndarray, period: int) -> np.ndarray:
    n = closes.shape[0]
    out = np.full(n, np.nan)
    if n <= period:
        return out
    gain_sum = 0.0
    loss_sum = 0.0
    for i in range(1, period + 1):
        change = closes[i] - closes[i - 1]
        if change > 0.0:
            gain_sum += change
        else:
            loss_sum -= change
    avg_gain = gain_sum / period
    avg_loss = loss_sum / period
    out[period] = _rsi_value(avg_gain, avg_loss)
    for i in range(period + 1, n):
        change = closes[i] - closes[i - 1]
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        avg_gain = (avg_gain * (period - 1) + gain) / period
        avg_loss = (avg_loss * (period - 1) + loss) / period
        out[i] = _rsi_value(avg_gain, avg_loss)
    return out


@njit(cache=True)
def _cross_up(a_prev: float, b_prev: float, a_now: float, b_now: float) -> bool:
    return a_prev <= b_prev and a_now > b_now


@njit(cache=True)
def _signals(
    strategy: int,
    i: int,
    close_prev: float,
    close_now: float,
    fast_prev: float,
    fast_now: float,
    slow_prev: float,
    slow_now: float,
    strength_prev: float,
    strength_now: float,
    trend_prev: float,
    trend_now: float,
    oversold: float,
    overbought: float,
) -> tuple[bool, bool, bool, bool]:
    """(long_entry, long_exit, short_entry, short_exit) at the close of candle i, from the
    series' values at i - 1 (prev, unused when i < 1) and at i (now).

    Scalars, not the arrays: an array handed to a helper costs a reference-count
    increment and decrement per candle, which made this call most of the loop's time.
    """
    if strategy == RSI_REVERSION:
        long_entry = i >= 1 and _cross_up(strength_prev, oversold, strength_now, oversold)
        short_entry = i >= 1 and _cross_up(overbought, strength_prev, overbought, strength_now)
        return long_entry, strength_now >= overbought, short_entry, strength_now <= oversold
    if i < 1:
        return False, False, False, False
    if strategy == EMA_TREND:
        up = _cross_up(close_prev, trend_prev, close_now, trend_now)
        down = _cross_up(trend_prev, close_prev, trend_now, close_now)
        return up, down, down, up
    up = _cross_up(fast_prev, slow_prev, fast_now, slow_now)
    down = _cross_up(slow_prev, fast_prev, slow_now, fast_now)
    if strategy == EMA_CROSSOVER:
        return up, down, down, up
    return up and strength_now < overbought, down, down and strength_now > oversold, up


@njit(cache=True)
def simulate_core(
    open_time_ms: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    strength: np.ndarray,
    trend: np.ndarray,
    strategy: int,
    oversold: float,
    overbought: float,
    warmup: int,
    risk: np.ndarray,
    trades: np.ndarray,
    equity: np.ndarray,
    record_equity: bool,
) -> tuple[int, float]:
    """One backtest. Writes trades (rows of TRADE_COLUMNS) and, if asked, the equity at
    every close; returns (number of trades, final cash)."""
    n = close.shape[0]
    futures = risk[R_FUTURES] > 0.5
    leverage = risk[R_LEVERAGE]
    fee_rate = risk[R_FEE]
    slippage = risk[R_SLIPPAGE]
    stop_perc = risk[R_STOP]
    target_perc = risk[R_TARGET]
    trail_perc = risk[R_TRAIL]
    trailing_on = risk[R_TRAIL_ACTIVE] > 0.5 and trail_perc > 0.0
    size_perc = risk[R_SIZE_PERC]
    size_fixed = risk[R_SIZE_FIXED]
    max_daily = risk[R_MAX_DAILY]
    daily_target = risk[R_DAILY_TARGET]
    daily_loss = risk[R_DAILY_LOSS]
    mmr = risk[R_MMR]

    cash = risk[R_INITIAL]
    side = 0
    quantity = 0.0
    entry_price = 0.0
    entry_index = -1
    entry_fee = 0.0
    entry_cost = 0.0
    margin = 0.0
    stop_price = math.nan
    target_price = math.nan
    trail_price = math.nan
    extreme = math.nan
    liquidation = math.nan
    day = -1
    # [day_start_ms, day_end_ms) is the current day's span, so that the floor division
    # runs once per day instead of once per candle (same days, same decisions).
    day_start_ms = 0
    day_end_ms = 0
    day_start_equity = 0.0
    daily_pnl = 0.0
    daily_entries = 0
    halted = False
    count = 0
    last = n - 1

    for i in range(n):
        o = open_[i]
        c = close[i]
        t = open_time_ms[i]
        if t < day_start_ms or t >= day_end_ms:
            this_day = t // MS_PER_DAY
            if this_day != day:
                if side == 0:
                    day_start_equity = cash
                elif margin > 0.0:
                    day_start_equity = cash + margin + (o - entry_price) * quantity * side
                else:
                    day_start_equity = cash + quantity * o
                day = this_day
                daily_pnl = 0.0
                daily_entries = 0
                halted = False
            day_start_ms = this_day * MS_PER_DAY
            day_end_ms = day_start_ms + MS_PER_DAY

        p = i - 1 if i >= 1 else i
        long_entry, long_exit, short_entry, short_exit = _signals(
            strategy,
            i,
            close[p],
            c,
            fast[p],
            fast[i],
            slow[p],
            slow[i],
            strength[p],
            strength[i],
            trend[p],
            trend[i],
            oversold,
            overbought,
        )
        exit_reason = -1
        exit_trigger = 0.0
        risk_closed = False
        closed_side = 0

        if side != 0 and entry_index < i:
            # Liquidation, stop loss, trailing stop, take profit: the pessimistic order.
            h = high[i]
            lo = low[i]
            if side == 1:
                if lo <= liquidation:
                    exit_reason, exit_trigger = LIQUIDATION, liquidation
                elif o <= stop_price:
                    exit_reason, exit_trigger = STOP_LOSS, o
                elif lo <= stop_price:
                    exit_reason, exit_trigger = STOP_LOSS, stop_price
                elif o <= trail_price:
                    exit_reason, exit_trigger = TRAILING_STOP, o
                elif lo <= trail_price:
                    exit_reason, exit_trigger = TRAILING_STOP, trail_price
                elif o >= target_price:
                    exit_reason, exit_trigger = TAKE_PROFIT, o
                elif h >= target_price:
                    exit_reason, exit_trigger = TAKE_PROFIT, target_price
            else:
                if h >= liquidation:
                    exit_reason, exit_trigger = LIQUIDATION, liquidation
                elif o >= stop_price:
                    exit_reason, exit_trigger = STOP_LOSS, o
                elif h >= stop_price:
                    exit_reason, exit_trigger = STOP_LOSS, stop_price
                elif o >= trail_price:
                    exit_reason, exit_trigger = TRAILING_STOP, o
                elif h >= trail_price:
                    exit_reason, exit_trigger = TRAILING_STOP, trail_price
                elif o <= target_price:
                    exit_reason, exit_trigger = TAKE_PROFIT, o
                elif lo <= target_price:
                    exit_reason, exit_trigger = TAKE_PROFIT, target_price
            if exit_reason >= 0:
                risk_closed = True
            else:
                if trailing_on:
                    if side == 1:
                        extreme = max(extreme, h)
                        trail_price = extreme * (1.0 - trail_perc / 100.0)
                    else:
                        extreme = min(extreme, lo)
                        trail_price = extreme * (1.0 + trail_perc / 100.0)
                if (side == 1 and long_exit) or (side == -1 and short_exit):
                    exit_reason, exit_trigger = SIGNAL, c

        if exit_reason < 0 and side != 0 and i == last:
            exit_reason, exit_trigger = END_OF_DATA, c
        if exit_reason >= 0:
            if exit_reason == LIQUIDATION:
                price = exit_trigger
                fee = 0.0
                returned = 0.0
            else:
                price = exit_trigger * (1.0 - slippage * side)
                fee = quantity * price * fee_rate
                if margin > 0.0:
                    returned = margin + (price - entry_price) * quantity * side - fee
                else:
                    returned = quantity * price - fee
            pnl = returned - entry_cost
            daily_pnl = daily_pnl + pnl
            if daily_target > 0.0 and daily_pnl >= day_start_equity * (daily_target / 100.0):
                halted = True
            if daily_loss > 0.0 and daily_pnl <= -day_start_equity * (daily_loss / 100.0):
                halted = True
            cash = cash + returned
            trades[count, T_SIDE] = side
            trades[count, T_ENTRY_INDEX] = entry_index
            trades[count, T_EXIT_INDEX] = i
            trades[count, T_ENTRY_PRICE] = entry_price
            trades[count, T_EXIT_PRICE] = price
            trades[count, T_QUANTITY] = quantity
            trades[count, T_ENTRY_FEE] = entry_fee
            trades[count, T_EXIT_FEE] = fee
            trades[count, T_PNL] = pnl
            trades[count, T_REASON] = exit_reason
            count += 1
            closed_side = side
            side = 0
            quantity = 0.0
            entry_price = 0.0
            entry_index = -1
            entry_fee = 0.0
            entry_cost = 0.0
            margin = 0.0
            stop_price = math.nan
            target_price = math.nan
            trail_price = math.nan
            extreme = math.nan
            liquidation = math.nan

        wanted = 0
        if (
            side == 0
            and not risk_closed
            and warmup <= i < last
            and not halted
            and daily_entries < max_daily
        ):
            if closed_side != 0:
                if futures and closed_side == 1 and short_entry:
                    wanted = -1
                elif futures and closed_side == -1 and long_entry:
                    wanted = 1
            elif long_entry:
                wanted = 1
            elif futures and short_entry:
                wanted = -1
        if wanted != 0:
            amount = size_fixed
            if amount <= 0.0:
                amount = cash * size_perc / 100.0
            if amount > cash:
                amount = cash
            if amount > 0.0:
                price = c * (1.0 + slippage * wanted)
                if futures:
                    quantity = amount / (price * (1.0 / leverage + fee_rate))
                    margin = quantity * price / leverage
                    entry_fee = quantity * price * fee_rate
                    if wanted == 1:
                        liquidation = price * (1.0 - 1.0 / leverage + mmr)
                    else:
                        liquidation = price * (1.0 + 1.0 / leverage - mmr)
                else:
                    quantity = amount / (price * (1.0 + fee_rate))
                    margin = 0.0
                    entry_fee = quantity * price * fee_rate
                    liquidation = math.nan
                stop_price = math.nan
                if stop_perc > 0.0:
                    stop_price = price * (1.0 - wanted * stop_perc / 100.0)
                target_price = math.nan
                if target_perc > 0.0:
                    target_price = price * (1.0 + wanted * target_perc / 100.0)
                trail_price = math.nan
                if trailing_on:
                    trail_price = price * (1.0 - wanted * trail_perc / 100.0)
                cash = cash - amount
                entry_cost = amount
                side = wanted
                entry_price = price
                entry_index = i
                extreme = price
                daily_entries += 1

        if record_equity:
            if side == 0:
                equity[i] = cash
            elif margin > 0.0:
                equity[i] = cash + margin + (c - entry_price) * quantity * side
            else:
                equity[i] = cash + quantity * c
    return count, cash


@njit(cache=True, parallel=True)
def simulate_batch(
    open_time_ms: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    ema_table: np.ndarray,
    rsi_table: np.ndarray,
    strategy: int,
    set_fast: np.ndarray,
    set_slow: np.ndarray,
    set_rsi: np.ndarray,
    set_trend: np.ndarray,
    set_oversold: np.ndarray,
    set_overbought: np.ndarray,
    set_warmup: np.ndarray,
    set_risk: np.ndarray,
    workers: int,
) -> np.ndarray:
    """Many parameter sets over the same candles, in parallel. Indicator series are
    shared: each distinct series is one row of `ema_table`/`rsi_table`, and set s reads
    rows set_fast[s], set_slow[s], set_rsi[s] and set_trend[s]. Returns, per set: final
    cash, trades, wins.

    `workers` (numba.get_num_threads() from the caller) workers, each with one trades
    buffer that its sets reuse (a buffer per set would allocate and fault in
    (candles + 1) x TRADE_COLUMNS floats each time); sets are dealt to workers round
    robin, so neighbouring (similar) sets spread out.
    """
    sets = set_risk.shape[0]
    out = np.empty((sets, 3))
    workers = max(1, min(workers, sets))
    for w in prange(workers):
        trades = np.empty((close.shape[0] + 1, TRADE_COLUMNS))
        equity = np.empty(0)
        for s in range(w, sets, workers):
            count, cash = simulate_core(
                open_time_ms,
                open_,
                high,
                low,
                close,
                ema_table[set_fast[s]],
                ema_table[set_slow[s]],
                rsi_table[set_rsi[s]],
                ema_table[set_trend[s]],
                strategy,
                set_oversold[s],
                set_overbought[s],
                set_warmup[s],
                set_risk[s],
                trades,
                equity,
                False,
            )
            wins = 0
            for t in range(count):
                if trades[t, T_PNL] > 0.0:
                    wins += 1
            out[s, 0] = cash
            out[s, 1] = count
            out[s, 2] = wins
    return out
