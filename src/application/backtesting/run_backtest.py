"""Run a backtest: validate, make sure the candles are stored, run the kernel, keep the result."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from application.market_data.ensure_candles import EnsureCandles
from domain.backtesting.backtest import Backtest, BacktestTrade, sample_equity
from domain.backtesting.metrics import compute_metrics, drawdown_curve
from domain.bots.bot_config import EDITABLE_FIELDS, FIELD_RANGES, BotConfig
from domain.errors import InvalidInput
from domain.exchange.market import MarketType
from domain.market_data.timeframe import Timeframe, UnsupportedTimeframe
from domain.ports.backtest_kernel import BacktestKernel
from domain.ports.candle_store import CandleKey, CandleStore
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.unit_of_work import UnitOfWork
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, SimulationResult

# Five years of one-minute candles: the most one backtest reads.
MAX_CANDLES = 5 * 365 * 24 * 60
MAX_DAILY_TRADES = 50
DEFAULT_FUTURES_LEVERAGE = 10
# Parameters beyond the bot configuration's fields.
_EXTRA_PARAMETERS = {"fee_perc", "slippage_perc"}
_NOT_PARAMETERS = {
    "name", "symbol", "timeframe", "position_type", "api_key_id", "is_active",
    "check_interval_seconds", "initial_capital", "strategy", "transfer_amount",
    "auto_transfer_funds",
}  # fmt: skip
# Every name `parameters` of a backtest request may hold.
BACKTEST_PARAMETERS = frozenset((set(EDITABLE_FIELDS) - _NOT_PARAMETERS) | _EXTRA_PARAMETERS)

# Called with a stage ("candles", "simulation", "metrics") and a fraction done in [0, 1].
BacktestProgress = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class RunBacktestCommand:
    user_id: int
    symbol: str
    interval: str
    start_date: date
    end_date: date
    market_type: str = MarketType.SPOT.value
    strategy: str = "ema_rsi"
    initial_capital: float = 10_000.0
    parameters: Mapping[str, Any] = field(default_factory=dict)


def candle_range_ms(start: date, end: date) -> tuple[int, int]:
    """From start 00:00 UTC through end 23:59:59.999 UTC (whole UTC days)."""
    first = datetime.combine(start, time.min, tzinfo=UTC)
    last = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    return int(first.timestamp() * 1000), int(last.timestamp() * 1000) - 1


class RunBacktest:
    def __init__(
        self,
        uow: UnitOfWork,
        exchange: ExchangeGateway,
        candles: CandleStore,
        ensure_candles: EnsureCandles,
        kernel: BacktestKernel,
        clock: Clock,
        exchange_id: str,
    ) -> None:
        self._uow = uow
        self._exchange = exchange
        self._candles = candles
        self._ensure = ensure_candles
        self._kernel = kernel
        self._clock = clock
        self._exchange_id = exchange_id

    async def execute(
        self, command: RunBacktestCommand, progress: BacktestProgress | None = None
    ) -> Backtest:
        report = progress or (lambda stage, fraction: None)
        timeframe = backtest_timeframe(command.interval)
        start_ms, end_ms = self._check_range(command, timeframe)
        config, risk = backtest_settings(command, self._clock.now())
        await self._exchange.fetch_market(config.market_type, config.symbol)
        key = CandleKey(self._exchange_id, config.market_type, config.symbol, timeframe)
        await self._ensure.execute(
            key, start_ms, end_ms, lambda _n, done, total: report("candles", done / max(total, 1))
        )
        series = await self._candles.read(key, start_ms, end_ms)
        if len(series) == 0:
            raise InvalidInput(
                "No candles for this range",
                details={"start_date": ["the exchange has no candles in this range"]},
            )
        report("simulation", 0.0)
        result: SimulationResult = await asyncio.to_thread(
            self._kernel.run,
            series,
            config.strategy,
            config.strategy_params(),
            risk,
            command.initial_capital,
        )
        report("metrics", 0.0)
        backtest = _backtest(command, config, series, result, timeframe, self._clock.now())
        backtest.gaps = await self._candles.gaps(key, start_ms, end_ms)
        async with self._uow:
            backtest = await self._uow.backtests.add(backtest)
            await self._uow.commit()
        report("metrics", 1.0)
        return backtest

    def _check_range(self, command: RunBacktestCommand, timeframe: Timeframe) -> tuple[int, int]:
        return backtest_window(command, timeframe, self._clock.now().astimezone(UTC).date())


def backtest_window(
    command: RunBacktestCommand, timeframe: Timeframe, today: date
) -> tuple[int, int]:
    """The candle range of a request, checked as every backtest's: InvalidInput names
    the fields (dates, capital, too many candles)."""
    problems: dict[str, list[str]] = {}
    if command.end_date < command.start_date:
        problems["end_date"] = ["must not be before start_date"]
    if command.end_date > today:
        problems["end_date"] = [f"must not be in the future (today is {today})"]
    if not command.initial_capital > 0 or command.initial_capital > 1e15:
        problems["initial_capital"] = ["a positive amount"]
    if problems:
        raise InvalidInput("Validation failed", details=problems)
    start_ms, end_ms = candle_range_ms(command.start_date, command.end_date)
    candles = (end_ms - start_ms + 1) // timeframe.milliseconds
    if candles > MAX_CANDLES:
        raise InvalidInput(
            "Range too long",
            details={
                "end_date": [
                    f"{candles:,} {timeframe} candles; at most {MAX_CANDLES:,} (five years "
                    "of 1m candles) per backtest: use a longer interval or a shorter range"
                ]
            },
        )
    return start_ms, end_ms


def backtest_timeframe(interval: str) -> Timeframe:
    try:
        return Timeframe(interval)
    except UnsupportedTimeframe as exc:
        # A backtest request calls the field `interval`, a bot configuration `timeframe`.
        raise UnsupportedTimeframe(details={"interval": exc.details["timeframe"]}) from None


def backtest_settings(command: RunBacktestCommand, now: datetime) -> tuple[BotConfig, RiskParams]:
    """The request's parameters validated as every backtest's (InvalidInput naming
    `parameters.<name>`): the bot configuration it runs as, and the risk it runs with."""
    config = _as_bot_config(command, now)
    risk = config.risk_params(
        fee_rate=_rate(command.parameters, "fee_perc"),
        slippage_rate=_rate(command.parameters, "slippage_perc") or 0.0,
    )
    return config, risk


def _as_bot_config(command: RunBacktestCommand, now: datetime) -> BotConfig:
    """A backtest is a bot configuration run over history: the same rules validate it."""
    parameters = dict(command.parameters)
    unknown = set(parameters) - BACKTEST_PARAMETERS
    if unknown:
        raise InvalidInput(
            "Validation failed",
            details={f"parameters.{name}": ["unknown parameter"] for name in sorted(unknown)},
        )
    trades = parameters.get("max_daily_trades", 5)
    if not isinstance(trades, int) or not 1 <= trades <= MAX_DAILY_TRADES:
        raise InvalidInput(
            "Validation failed",
            details={"parameters.max_daily_trades": [f"1 to {MAX_DAILY_TRADES}"]},
        )
    for name in _EXTRA_PARAMETERS:
        parameters.pop(name, None)
    parameters = _typed(parameters)
    futures = command.market_type == MarketType.FUTURES.value
    parameters.setdefault("leverage", DEFAULT_FUTURES_LEVERAGE if futures else 1)
    parameters.setdefault("max_daily_trades", trades)
    if parameters.get("trailing_stop_perc") is not None:
        parameters.setdefault("trailing_stop_active", True)
    try:
        return BotConfig(
            user_id=command.user_id,
            name="backtest",
            symbol=command.symbol,
            timeframe=command.interval,
            strategy=command.strategy,
            position_type=command.market_type,
            created_at=now,
            updated_at=now,
            **parameters,
        )
    except InvalidInput as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        renamed = {
            (name if name in {"symbol", "strategy", "position_type"} else f"parameters.{name}"): v
            for name, v in details.items()
        }
        if "position_type" in renamed:
            renamed["market_type"] = renamed.pop("position_type")
        raise InvalidInput("Validation failed", details=renamed) from None


def _typed(parameters: dict[str, Any]) -> dict[str, Any]:
    """JSON numbers into the types the configuration holds; wrong types are 400s."""
    typed: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for name, value in parameters.items():
        bounds = FIELD_RANGES.get(name)
        if isinstance(value, bool) and name != "trailing_stop_active":
            problems[f"parameters.{name}"] = ["a number"]
        elif name == "trailing_stop_active":
            if not isinstance(value, bool):
                problems[f"parameters.{name}"] = ["true or false"]
            typed[name] = value
        elif name == "position_size_fixed":
            if not isinstance(value, int | float) or not math.isfinite(value):
                problems[f"parameters.{name}"] = ["a number"]
            else:
                typed[name] = Decimal(str(value))
        elif bounds is not None and bounds.kind is int:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int):
                problems[f"parameters.{name}"] = ["a whole number"]
            typed[name] = value
        elif not isinstance(value, int | float):
            problems[f"parameters.{name}"] = ["a number"]
        else:
            typed[name] = float(value)
    if problems:
        raise InvalidInput("Validation failed", details=problems)
    return typed


def _rate(parameters: Mapping[str, Any], name: str) -> float | None:
    value = parameters.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 50:
        raise InvalidInput(
            "Validation failed", details={f"parameters.{name}": ["a percentage from 0 to 50"]}
        )
    return float(value) / 100.0


def _backtest(
    command: RunBacktestCommand,
    config: BotConfig,
    series: CandleSeries,
    result: SimulationResult,
    timeframe: Timeframe,
    now: datetime,
) -> Backtest:
    times = [int(t) for t in series.open_time_ms]
    metrics = compute_metrics(result, times, timeframe.seconds, command.initial_capital)
    drawdown = drawdown_curve(result.equity, command.initial_capital)
    return Backtest(
        user_id=command.user_id,
        symbol=config.symbol,
        interval=timeframe.value,
        start_date=command.start_date,
        end_date=command.end_date,
        market_type=config.market_type,
        leverage=config.leverage,
        strategy=config.strategy,
        parameters=dict(command.parameters),
        metrics=metrics,
        trades=[
            BacktestTrade(
                side=t.side,
                entry_time_ms=times[t.entry_index],
                exit_time_ms=times[t.exit_index],
                entry_price=t.entry_price,
                exit_price=t.exit_price,
                quantity=t.quantity,
                entry_fee=t.entry_fee,
                exit_fee=t.exit_fee,
                pnl=t.pnl,
                exit_reason=t.exit_reason,
            )
            for t in result.trades
        ],
        equity_curve=sample_equity(times, result.equity, drawdown),
        candles=len(times),
        created_at=now,
    )
