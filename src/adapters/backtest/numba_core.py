"""The numba backtest kernels: indicators, signals and the full risk engine.

Every arithmetic operation repeats src/domain/trading (indicators.py,
strategies.py, risk_engine.py) in the same order, so that these kernels and
the pure-Python reference decide identically; tests/unit/test_kernel_*.py
prove it with hypothesis. Change one, change the other.

All jitted code is in this one file on purpose: numba's `cache=True` only
notices edits to the file of the function it caches, so a helper imported from
another file could be served stale, compiled into its callers, after an edit.

* The rules (`risk_exit`, `exit_fill`, `entry_fill`, ...) take and return
  scalars: an array handed to a helper costs a reference-count increment and
  decrement per call, acceptable only once per recorded trade (`record_trade`).
* One pass per backtest (`simulate_candles`, `simulate_core`).
* Many parameter sets over the same candles (`simulate_events`), event-driven;
  sweep.py runs it on several threads (every kernel releases the GIL).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

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


@njit(cache=True, nogil=True)
def ema_into(values: np.ndarray, period: int, out: np.ndarray) -> None:
    """Exponential moving average, alpha 2/(n+1), seeded with the first value."""
    n = values.shape[0]
    if n == 0:
        return
    alpha = 2.0 / (period + 1.0)
    out[0] = values[0]
    for i in range(1, n):
        out[i] = out[i - 1] + alpha * (values[i] - out[i - 1])


def ema(values: np.ndarray, period: int) -> np.ndarray:
    out = np.empty(values.shape[0])
    ema_into(values, period, out)
    return out


@njit(cache=True)
def rsi_value(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0.0:
        if avg_gain == 0.0:
            return 50.0
        return 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


@njit(cache=True, nogil=True)
def rsi_into(closes: np.ndarray, period: int, out: np.ndarray) -> None:
    """Wilder's RSI, NaN before index `period`."""
    n = closes.shape[0]
    if n <= period:
        out[:] = np.nan
        return
    out[:period] = np.nan
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
    out[period] = rsi_value(avg_gain, avg_loss)
    for i in range(period + 1, n):
        change = closes[i] - closes[i - 1]
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        avg_gain = (avg_gain * (period - 1) + gain) / period
        avg_loss = (avg_loss * (period - 1) + loss) / period
        out[i] = rsi_value(avg_gain, avg_loss)


def rsi(closes: np.ndarray, period: int) -> np.ndarray:
    out = np.empty(closes.shape[0])
    rsi_into(closes, period, out)
    return out


@njit(cache=True)
def cross_up(a_prev: float, b_prev: float, a_now: float, b_now: float) -> bool:
    return a_prev <= b_prev and a_now > b_now


@njit(cache=True)
def risk_exit(
    side: int,
    o: float,
    h: float,
    lo: float,
    liquidation: float,
    stop_price: float,
    trail_price: float,
    target_price: float,
) -> tuple[int, float]:
    """(exit reason or -1, trigger) for a position opened before this candle: liquidation,
    stop loss, trailing stop, take profit (the pessimistic order), each at its level or at
    the open when the candle gaps through it. NaN levels (rules off) never trigger."""
    if side == 1:
        if lo <= liquidation:
            return LIQUIDATION, liquidation
        if o <= stop_price:
            return STOP_LOSS, o
        if lo <= stop_price:
            return STOP_LOSS, stop_price
        if o <= trail_price:
            return TRAILING_STOP, o
        if lo <= trail_price:
            return TRAILING_STOP, trail_price
        if o >= target_price:
            return TAKE_PROFIT, o
        if h >= target_price:
            return TAKE_PROFIT, target_price
        return -1, 0.0
    if h >= liquidation:
        return LIQUIDATION, liquidation
    if o >= stop_price:
        return STOP_LOSS, o
    if h >= stop_price:
        return STOP_LOSS, stop_price
    if o >= trail_price:
        return TRAILING_STOP, o
    if h >= trail_price:
        return TRAILING_STOP, trail_price
    if o <= target_price:
        return TAKE_PROFIT, o
    if lo <= target_price:
        return TAKE_PROFIT, target_price
    return -1, 0.0


@njit(cache=True)
def calm_bounds(
    side: int,
    liquidation: float,
    stop_price: float,
    trail_price: float,
    target_price: float,
    extreme: float,
    trailing_on: bool,
) -> tuple[float, float]:
    """(calm_low, calm_high) of an open position: a candle whose low and open stay above
    calm_low and whose high and open stay below calm_high triggers none of risk_exit's
    exits and does not move the trailing stop (its extreme is a bound). Levels that are
    off (NaN) are left out; a NaN price compares False, so it is never taken as calm."""
    down = -np.inf
    up = np.inf
    if side == 1:
        if liquidation > down:
            down = liquidation
        if stop_price > down:
            down = stop_price
        if trail_price > down:
            down = trail_price
        if target_price < up:
            up = target_price
        if trailing_on and extreme < up:
            up = extreme
    else:
        if liquidation < up:
            up = liquidation
        if stop_price < up:
            up = stop_price
        if trail_price < up:
            up = trail_price
        if target_price > down:
            down = target_price
        if trailing_on and extreme > down:
            down = extreme
    return down, up


@njit(cache=True)
def equity_at(
    price: float, side: int, cash: float, margin: float, entry_price: float, quantity: float
) -> float:
    """Cash plus the position marked at `price` (TradingState.equity)."""
    if side == 0:
        return cash
    if margin > 0.0:
        return cash + margin + (price - entry_price) * quantity * side
    return cash + quantity * price


@njit(cache=True)
def exit_fill(
    reason: int,
    trigger: float,
    side: int,
    quantity: float,
    entry_price: float,
    margin: float,
    slippage: float,
    fee_rate: float,
) -> tuple[float, float, float]:
    """(fill price, fee, cash returned) of closing the position at `trigger`."""
    if reason == LIQUIDATION:
        return trigger, 0.0, 0.0
    price = trigger * (1.0 - slippage * side)
    fee = quantity * price * fee_rate
    if margin > 0.0:
        return price, fee, margin + (price - entry_price) * quantity * side - fee
    return price, fee, quantity * price - fee


@njit(cache=True)
def entry_amount(cash: float, size_fixed: float, size_perc: float) -> float:
    amount = size_fixed
    if amount <= 0.0:
        amount = cash * size_perc / 100.0
    if amount > cash:
        amount = cash
    return amount


@njit(cache=True)
def entry_fill(
    wanted: int,
    close: float,
    amount: float,
    futures: bool,
    leverage: float,
    fee_rate: float,
    slippage: float,
    mmr: float,
    stop_perc: float,
    target_perc: float,
    trailing_on: bool,
    trail_perc: float,
) -> tuple[float, float, float, float, float, float, float, float]:
    """(price, quantity, margin, fee, liquidation, stop, target, trailing) of entering
    `wanted` (1 long, -1 short) with `amount` at this close."""
    price = close * (1.0 + slippage * wanted)
    if futures:
        quantity = amount / (price * (1.0 / leverage + fee_rate))
        margin = quantity * price / leverage
        fee = quantity * price * fee_rate
        if wanted == 1:
            liquidation = price * (1.0 - 1.0 / leverage + mmr)
        else:
            liquidation = price * (1.0 + 1.0 / leverage - mmr)
    else:
        quantity = amount / (price * (1.0 + fee_rate))
        margin = 0.0
        fee = quantity * price * fee_rate
        liquidation = math.nan
    stop = math.nan
    if stop_perc > 0.0:
        stop = price * (1.0 - wanted * stop_perc / 100.0)
    target = math.nan
    if target_perc > 0.0:
        target = price * (1.0 + wanted * target_perc / 100.0)
    trailing = math.nan
    if trailing_on:
        trailing = price * (1.0 - wanted * trail_perc / 100.0)
    return price, quantity, margin, fee, liquidation, stop, target, trailing


@njit(cache=True)
def record_trade(
    trades: np.ndarray,
    row: int,
    side: int,
    entry_index: int,
    exit_index: int,
    entry_price: float,
    exit_price: float,
    quantity: float,
    entry_fee: float,
    exit_fee: float,
    pnl: float,
    reason: int,
) -> None:
    trades[row, T_SIDE] = side
    trades[row, T_ENTRY_INDEX] = entry_index
    trades[row, T_EXIT_INDEX] = exit_index
    trades[row, T_ENTRY_PRICE] = entry_price
    trades[row, T_EXIT_PRICE] = exit_price
    trades[row, T_QUANTITY] = quantity
    trades[row, T_ENTRY_FEE] = entry_fee
    trades[row, T_EXIT_FEE] = exit_fee
    trades[row, T_PNL] = pnl
    trades[row, T_REASON] = reason


# --- one backtest, one pass ------------------------------------------------------------
#
# Two entry points share the one loop. `simulate_candles` reads only the candle arrays
# and advances the EMAs and the RSI inside the candle loop: no indicator arrays are
# allocated or read back, and the RSI value (two divisions) is only worked out on the
# candles whose signals read it. `simulate_core` reads indicator series computed
# beforehand. For the crossover strategies a candle with no cross to act on and no exit
# level reached skips the risk engine's steps (`calm_bounds`).


@njit(cache=True, nogil=True)
def simulate(
    open_time_ms: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    precomputed: bool,
    fast: np.ndarray,
    slow: np.ndarray,
    strength: np.ndarray,
    trend: np.ndarray,
    strategy: int,
    fast_period: int,
    slow_period: int,
    rsi_period: int,
    trend_period: int,
    oversold: float,
    overbought: float,
    warmup: int,
    risk: np.ndarray,
    trades: np.ndarray,
    equity: np.ndarray,
    record_equity: bool,
) -> tuple[int, float]:
    """One backtest: the loop behind simulate_candles (`precomputed` False: the periods
    are read, the four series ignored) and simulate_core (True: the reverse)."""
    n = close.shape[0]
    futures = risk[R_FUTURES] > 0.5
    leverage = risk[R_LEVERAGE]
    fee_rate = risk[R_FEE]
    slippage = risk[R_SLIPPAGE]
    mmr = risk[R_MMR]
    stop_perc = risk[R_STOP]
    target_perc = risk[R_TARGET]
    trail_perc = risk[R_TRAIL]
    trailing_on = risk[R_TRAIL_ACTIVE] > 0.5 and trail_perc > 0.0
    size_perc = risk[R_SIZE_PERC]
    size_fixed = risk[R_SIZE_FIXED]
    max_daily = risk[R_MAX_DAILY]
    daily_target = risk[R_DAILY_TARGET]
    daily_loss = risk[R_DAILY_LOSS]

    # A zero numba does not type as the literal 0: with literal-typed arguments it would
    # compile each helper a second time (Literal[int](0) besides int64), ~0.5 s of JIT.
    zero = n - n
    cash = risk[R_INITIAL]
    side = zero
    quantity = 0.0
    entry_price = 0.0
    entry_index = zero - 1
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
    count = zero
    last = n - 1

    # The indicators of the in-loop mode, advanced one candle at a time exactly as
    # ema / rsi compute them over the whole series.
    ema_pair = strategy in (EMA_CROSSOVER, EMA_RSI, CUSTOM)
    crossing = ema_pair or strategy == EMA_TREND
    # A candle whose low and open stay above calm_low and whose high and open stay below
    # calm_high triggers no exit of the open position (calm_bounds).
    calm_low = 0.0
    calm_high = 0.0
    rsi_filter = strategy in (EMA_RSI, CUSTOM)
    uses_rsi = rsi_filter or strategy == RSI_REVERSION
    alpha_fast = 2.0 / (fast_period + 1.0)
    alpha_slow = 2.0 / (slow_period + 1.0)
    alpha_trend = 2.0 / (trend_period + 1.0)
    fast_now = 0.0
    slow_now = 0.0
    trend_now = 0.0
    gain_sum = 0.0
    loss_sum = 0.0
    avg_gain = 0.0
    avg_loss = 0.0
    strength_now = math.nan
    close_prev = 0.0
    p = 0

    for i in range(n):
        o = open_[i]
        c = close[i]
        t = open_time_ms[i]

        # The indicators at i and i - 1.
        if precomputed:
            p = i - 1 if i >= 1 else i
            close_prev = close[p]
            fast_prev = fast[p]
            fast_now = fast[i]
            slow_prev = slow[p]
            slow_now = slow[i]
            trend_prev = trend[p]
            trend_now = trend[i]
        else:
            fast_prev = fast_now
            slow_prev = slow_now
            trend_prev = trend_now
            if i == 0:
                fast_now = c
                slow_now = c
                trend_now = c
            elif ema_pair:
                fast_now = fast_now + alpha_fast * (c - fast_now)
                slow_now = slow_now + alpha_slow * (c - slow_now)
            elif strategy == EMA_TREND:
                trend_now = trend_now + alpha_trend * (c - trend_now)
            if uses_rsi and i >= 1:
                change = c - close_prev
                if i <= rsi_period:
                    if change > 0.0:
                        gain_sum += change
                    else:
                        loss_sum -= change
                    if i == rsi_period:
                        avg_gain = gain_sum / rsi_period
                        avg_loss = loss_sum / rsi_period
                else:
                    gain = change if change > 0.0 else 0.0
                    loss = -change if change < 0.0 else 0.0
                    avg_gain = (avg_gain * (rsi_period - 1) + gain) / rsi_period
                    avg_loss = (avg_loss * (rsi_period - 1) + loss) / rsi_period
        up = False
        down = False
        if crossing and i >= 1:
            if strategy == EMA_TREND:
                up = cross_up(close_prev, trend_prev, c, trend_now)
                down = cross_up(trend_prev, close_prev, trend_now, c)
            else:
                up = cross_up(fast_prev, slow_prev, fast_now, slow_now)
                down = cross_up(slow_prev, fast_prev, slow_now, fast_now)
        close_prev = c

        # A quiet candle of a crossover strategy: no cross to act on, no exit level
        # reached, the same day, not the last candle. Nothing but the indicators and
        # the equity changes (the trailing stop does not move: the high stays below
        # its extreme), so the risk engine's steps below are skipped.
        if crossing and day_start_ms <= t < day_end_ms and i != last:
            if side == 0:
                quiet = not (up or down)
            else:
                quiet = (
                    not (down if side == 1 else up)
                    and low[i] > calm_low
                    and o > calm_low
                    and high[i] < calm_high
                    and o < calm_high
                )
            if quiet:
                if record_equity:
                    equity[i] = equity_at(c, side, cash, margin, entry_price, quantity)
                continue

        if t < day_start_ms or t >= day_end_ms:
            this_day = t // MS_PER_DAY
            if this_day != day:
                day_start_equity = equity_at(o, side, cash, margin, entry_price, quantity)
                day = this_day
                daily_pnl = 0.0
                daily_entries = 0
                halted = False
            day_start_ms = this_day * MS_PER_DAY
            day_end_ms = day_start_ms + MS_PER_DAY

        if strategy == RSI_REVERSION:
            if precomputed:
                strength_prev = strength[p]
                strength_now = strength[i]
            else:
                strength_prev = strength_now
                strength_now = math.nan
                if i >= rsi_period:
                    strength_now = rsi_value(avg_gain, avg_loss)
            long_entry = i >= 1 and cross_up(strength_prev, oversold, strength_now, oversold)
            short_entry = i >= 1 and cross_up(overbought, strength_prev, overbought, strength_now)
            long_exit = strength_now >= overbought
            short_exit = strength_now <= oversold
        else:
            long_entry = up
            short_entry = down
            if rsi_filter and (up or down):
                # The RSI is read only at a cross: in the loop, its value (two
                # divisions) is worked out only there.
                if precomputed:
                    value = strength[i]
                else:
                    value = math.nan
                    if i >= rsi_period:
                        value = rsi_value(avg_gain, avg_loss)
                long_entry = up and value < overbought
                short_entry = down and value > oversold
            long_exit = down
            short_exit = up

        exit_reason = -1
        exit_trigger = 0.0
        risk_closed = False
        closed_side = zero

        if side != 0 and entry_index < i:
            h = high[i]
            lo = low[i]
            exit_reason, exit_trigger = risk_exit(
                side, o, h, lo, liquidation, stop_price, trail_price, target_price
            )
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
                    calm_low, calm_high = calm_bounds(
                        side, liquidation, stop_price, trail_price, target_price, extreme,
                        trailing_on,
                    )  # fmt: skip
                if (side == 1 and long_exit) or (side == -1 and short_exit):
                    exit_reason, exit_trigger = SIGNAL, c

        if exit_reason < 0 and side != 0 and i == last:
            exit_reason, exit_trigger = END_OF_DATA, c
        if exit_reason >= 0:
            price, fee, returned = exit_fill(
                exit_reason, exit_trigger, side, quantity, entry_price, margin, slippage, fee_rate
            )
            pnl = returned - entry_cost
            daily_pnl = daily_pnl + pnl
            if daily_target > 0.0 and daily_pnl >= day_start_equity * (daily_target / 100.0):
                halted = True
            if daily_loss > 0.0 and daily_pnl <= -day_start_equity * (daily_loss / 100.0):
                halted = True
            cash = cash + returned
            record_trade(
                trades,
                count,
                side,
                entry_index,
                i,
                entry_price,
                price,
                quantity,
                entry_fee,
                fee,
                pnl,
                exit_reason,
            )
            count += 1
            closed_side = side
            side = zero
            quantity = 0.0
            entry_price = 0.0
            entry_index = zero - 1
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
            amount = entry_amount(cash, size_fixed, size_perc)
            if amount > 0.0:
                (
                    entry_price,
                    quantity,
                    margin,
                    entry_fee,
                    liquidation,
                    stop_price,
                    target_price,
                    trail_price,
                ) = entry_fill(
                    wanted, c, amount, futures, leverage, fee_rate, slippage, mmr,
                    stop_perc, target_perc, trailing_on, trail_perc,
                )  # fmt: skip
                cash = cash - amount
                entry_cost = amount
                side = wanted
                entry_index = i
                extreme = entry_price
                daily_entries += 1
                calm_low, calm_high = calm_bounds(
                    side, liquidation, stop_price, trail_price, target_price, extreme,
                    trailing_on,
                )  # fmt: skip

        if record_equity:
            equity[i] = equity_at(c, side, cash, margin, entry_price, quantity)
    return count, cash


def simulate_candles(
    open_time_ms: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    strategy: int,
    fast_period: int,
    slow_period: int,
    rsi_period: int,
    trend_period: int,
    oversold: float,
    overbought: float,
    warmup: int,
    risk: np.ndarray,
    trades: np.ndarray,
    equity: np.ndarray,
    record_equity: bool,
) -> tuple[int, float]:
    """One backtest from the candles alone: the indicators are advanced inside the loop.
    Writes trades (rows of TRADE_COLUMNS) and, if asked, the equity at every close;
    returns (number of trades, final cash)."""
    unused = np.empty(0)
    return simulate(
        open_time_ms, open_, high, low, close, False, unused, unused, unused, unused,
        strategy, fast_period, slow_period, rsi_period, trend_period, oversold, overbought,
        warmup, risk, trades, equity, record_equity,
    )  # fmt: skip


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
    """One backtest over indicator series computed beforehand (ema/rsi of the closes; a
    series the strategy does not read may be any array of the candles' length). Writes
    trades and, if asked, the equity; returns (number of trades, final cash)."""
    return simulate(
        open_time_ms, open_, high, low, close, True, fast, slow, strength, trend,
        strategy, 0, 0, 0, 0, oversold, overbought,
        warmup, risk, trades, equity, record_equity,
    )  # fmt: skip


# --- many parameter sets over the same candles -----------------------------------------
#
# An event-driven pass per set (sweep.py runs groups of sets on several threads). For
# the crossover strategies
# (ema_crossover, ema_rsi, custom, ema_trend) every signal happens at a cross of two
# series, so a set's backtest only has work to do at those crosses and while a position
# is open:
#
# * each distinct EMA and RSI series is computed once (`ema_table`/`rsi_table`),
#   and each distinct pair of crossing series gets its cross list once, shared
#   by every set that trades it (sets of one pair differ in RSI, levels, risk);
# * flat, a set jumps from cross to cross (`simulate_events`): the candles in
#   between change nothing a flat position depends on (the daily entry count is
#   kept per day segment of the candles instead of per candle);
# * in a position it reads only open/high/low against the exit levels until the
#   next opposite cross, skipping `BLOCK` candles at a time when their extremes
#   stay strictly inside the levels (nothing can trigger nor move the trailing
#   stop there), and runs the risk engine's exact checks on every other candle;
# * the exit of a position depends only on its entry candle and the exit settings,
#   never on cash: sets of one cross list and one risk work each out once.
#
# The arithmetic of every fill is the rules' above, in the same order as
# simulate_core, so a set's trades and final cash are bit for bit those of its
# own run (tests/unit/test_kernel_events.py). What the event pass does not
# cover runs simulate_core candle by candle: rsi_reversion (level signals, not
# crosses) and daily target / daily loss limits (they need the equity at each
# day's first open).

BLOCK = 16


@njit(cache=True, nogil=True)
def candle_context(
    open_time_ms: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What every set's event pass reads beside the candles:

    * per candle, how many day changes came before it (the risk engine resets its
      daily counters on each): two candles share a daily entry count iff they share
      this day segment;
    * per candle the lower of low and open and the higher of high and open, and the
      same per block of BLOCK candles. A NaN price makes its candle and block never
      skippable (-inf / +inf), so that the risk engine's own checks look at it.
    """
    n = open_.shape[0]
    blocks = (n + BLOCK - 1) // BLOCK
    day_segment = np.empty(n, dtype=np.int64)
    candle_low = np.empty(n)
    candle_high = np.empty(n)
    block_low = np.empty(blocks)
    block_high = np.empty(blocks)
    segment = 0
    previous = 0
    for i in range(n):
        day = open_time_ms[i] // MS_PER_DAY
        if i > 0 and day != previous:
            segment += 1
        previous = day
        day_segment[i] = segment
        o = open_[i]
        down = low[i] if low[i] < o else o
        up = high[i] if high[i] > o else o
        if not (low[i] == low[i] and o == o):
            down = -np.inf
        if not (high[i] == high[i] and o == o):
            up = np.inf
        candle_low[i] = down
        candle_high[i] = up
        b = i // BLOCK
        if i % BLOCK == 0 or down < block_low[b]:
            block_low[b] = down
        if i % BLOCK == 0 or up > block_high[b]:
            block_high[b] = up
    return day_segment, candle_low, candle_high, block_low, block_high


@njit(cache=True, nogil=True)
def cross_events(a: np.ndarray, b: np.ndarray, out: np.ndarray, flags: np.ndarray) -> int:
    """Writes the candles where `a` crosses above `b` (as +i) or below it (as -i), in
    order, exactly as cross_up decides; returns how many. `flags` is scratch space of
    the candles' length (int8)."""
    n = a.shape[0]
    if n == 0:
        return 0
    # A branch-free pass the compiler vectorises, then the rare crosses picked out.
    flags[0] = 0
    for i in range(1, n):
        up = (a[i - 1] <= b[i - 1]) & (a[i] > b[i])
        down = (b[i - 1] <= a[i - 1]) & (b[i] > a[i])
        flags[i] = np.int8(up) - np.int8(down)
    m = 0
    for i in range(1, n):
        if flags[i] != 0:
            out[m] = i * flags[i]
            m += 1
    return m


@njit(cache=True, nogil=True)
def simulate_events(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    day_segment: np.ndarray,
    candle_low: np.ndarray,
    candle_high: np.ndarray,
    block_low: np.ndarray,
    block_high: np.ndarray,
    events: np.ndarray,
    event_count: int,
    exits: np.ndarray,
    exit_stamp: np.ndarray,
    stamp: int,
    rsi_table: np.ndarray,
    rsi_filter: bool,
    members: np.ndarray,
    set_rsi: np.ndarray,
    set_oversold: np.ndarray,
    set_overbought: np.ndarray,
    set_warmup: np.ndarray,
    set_risk: np.ndarray,
    out: np.ndarray,
    trades: np.ndarray,
    record: bool,
) -> None:
    """Backtests of a crossover strategy from one cross list (cross_events of the fast and
    slow EMA, or of the close and the trend EMA): for each set s in `members`, the
    decisions of simulate_core with rsi_table[set_rsi[s]], set_oversold[s], ... and a
    risk set_risk[s] without daily target or daily loss limit. Writes (final cash,
    trades, winning trades) to out[s], and the trades themselves to `trades` if
    `record` (meant for a single member).

    Where and why a position entered at cross k leaves depends only on that candle, the
    side and the exit levels' settings, never on cash: `exits[k]` (exit candle, reason,
    trigger, next cross to look at) is worked out once and reused by every set run with
    the same `stamp`, which the caller gives only to sets of the same cross list and
    the same risk vector (exit_stamp[k] == stamp marks a filled row)."""
    n = close.shape[0]
    last = n - 1
    for s in members:
        strength = rsi_table[set_rsi[s]]
        oversold = set_oversold[s]
        overbought = set_overbought[s]
        warmup = set_warmup[s]
        risk = set_risk[s]
        futures = risk[R_FUTURES] > 0.5
        leverage = risk[R_LEVERAGE]
        fee_rate = risk[R_FEE]
        slippage = risk[R_SLIPPAGE]
        mmr = risk[R_MMR]
        stop_perc = risk[R_STOP]
        target_perc = risk[R_TARGET]
        trail_perc = risk[R_TRAIL]
        trailing_on = risk[R_TRAIL_ACTIVE] > 0.5 and trail_perc > 0.0
        size_perc = risk[R_SIZE_PERC]
        size_fixed = risk[R_SIZE_FIXED]
        max_daily = risk[R_MAX_DAILY]

        cash = risk[R_INITIAL]
        count = n - n  # not the literal 0 (see simulate)
        wins = n - n
        segment = 0
        daily_entries = 0
        amount = 0.0
        k = 0  # the next cross a flat position looks at
        flat_from = 0  # the first candle a flat position may enter on

        while True:
            # Flat: only a cross can open a position; at most one cross per candle.
            wanted = 0
            i = 0
            while k < event_count:
                event = events[k]
                i = event if event > 0 else -event
                if i >= last:
                    k = event_count
                    break
                if i >= flat_from and i >= warmup:
                    if event > 0:
                        if not rsi_filter or strength[i] < overbought:
                            wanted = 1
                    elif futures and (not rsi_filter or strength[i] > oversold):
                        wanted = -1
                    if wanted != 0:
                        if day_segment[i] != segment:
                            segment = day_segment[i]
                            daily_entries = 0
                        if daily_entries < max_daily:
                            amount = entry_amount(cash, size_fixed, size_perc)
                            if amount > 0.0:
                                break
                        wanted = 0
                k += 1
            if wanted == 0:
                break

            while wanted != 0:
                # Enter at the close of candle i (cross k), then hold until a risk exit, the next
                # opposite cross (a signal exit, maybe a futures reversal) or the last candle.
                side = wanted
                wanted = 0
                (
                    entry_price,
                    quantity,
                    margin,
                    entry_fee,
                    liquidation,
                    stop_price,
                    target_price,
                    trail_price,
                ) = entry_fill(
                    side, close[i], amount, futures, leverage, fee_rate, slippage, mmr,
                    stop_perc, target_perc, trailing_on, trail_perc,
                )  # fmt: skip
                cash = cash - amount
                daily_entries += 1

                if exit_stamp[k] == stamp:
                    j = int(exits[k, 0])
                    reason = int(exits[k, 1])
                    trigger = exits[k, 2]
                    next_k = int(exits[k, 3])
                else:
                    x = k + 1
                    while x < event_count and (events[x] > 0) == (side == 1):
                        x += 1
                    exit_bar = n
                    if x < event_count:
                        exit_bar = events[x] if events[x] > 0 else -events[x]
                    end = exit_bar if exit_bar < last else last
                    extreme = entry_price
                    down, up = calm_bounds(
                        side,
                        liquidation,
                        stop_price,
                        trail_price,
                        target_price,
                        extreme,
                        trailing_on,
                    )
                    reason = -1
                    trigger = 0.0
                    j = i + 1
                    while j <= end:
                        if j % BLOCK == 0:
                            while (
                                j + BLOCK - 1 <= end
                                and block_low[j // BLOCK] > down
                                and block_high[j // BLOCK] < up
                            ):
                                j += BLOCK
                        limit = min(end, j - j % BLOCK + BLOCK - 1)
                        while j <= limit and candle_low[j] > down and candle_high[j] < up:
                            j += 1
                        if j > limit:
                            continue
                        reason, trigger = risk_exit(
                            side, open_[j], high[j], low[j], liquidation, stop_price, trail_price,
                            target_price,
                        )  # fmt: skip
                        if reason >= 0:
                            break
                        if trailing_on:
                            if side == 1:
                                extreme = max(extreme, high[j])
                                trail_price = extreme * (1.0 - trail_perc / 100.0)
                            else:
                                extreme = min(extreme, low[j])
                                trail_price = extreme * (1.0 + trail_perc / 100.0)
                            down, up = calm_bounds(
                                side,
                                liquidation,
                                stop_price,
                                trail_price,
                                target_price,
                                extreme,
                                trailing_on,
                            )
                        j += 1
                    if reason >= 0:
                        # A risk exit: no entry on this candle; the crosses after it still count.
                        next_k = k + 1
                        while (
                            next_k < event_count
                            and (events[next_k] if events[next_k] > 0 else -events[next_k]) <= j
                        ):
                            next_k += 1
                    else:
                        j = end
                        trigger = close[end]
                        reason = SIGNAL if end == exit_bar else END_OF_DATA
                        next_k = x + 1 if reason == SIGNAL else event_count
                    exits[k, 0] = j
                    exits[k, 1] = reason
                    exits[k, 2] = trigger
                    exits[k, 3] = next_k
                    exit_stamp[k] = stamp

                price, fee, returned = exit_fill(
                    reason, trigger, side, quantity, entry_price, margin, slippage, fee_rate
                )
                pnl = returned - amount
                cash = cash + returned
                if record:
                    record_trade(
                        trades,
                        count,
                        side,
                        i,
                        j,
                        entry_price,
                        price,
                        quantity,
                        entry_fee,
                        fee,
                        pnl,
                        reason,
                    )
                count += 1
                if pnl > 0.0:
                    wins += 1
                if reason == END_OF_DATA:
                    k = event_count  # nothing after the last candle
                    break
                flat_from = j + 1
                k = next_k
                if reason == SIGNAL and futures and warmup <= j < last:
                    # The exit cross is also the opposite entry: the futures reversal.
                    if side == 1:
                        if not rsi_filter or strength[j] > oversold:
                            wanted = -1
                    elif not rsi_filter or strength[j] < overbought:
                        wanted = 1
                    if wanted != 0:
                        if day_segment[j] != segment:
                            segment = day_segment[j]
                            daily_entries = 0
                        amount = 0.0
                        if daily_entries < max_daily:
                            amount = entry_amount(cash, size_fixed, size_perc)
                        if amount > 0.0:
                            i = j
                            k = next_k - 1
                        else:
                            wanted = 0
        out[s, 0] = cash
        out[s, 1] = count
        out[s, 2] = wins
