"""A loopback Binance REST stub (spot + USD-M futures) for driving ccxt in integration tests.

It answers the subset of the API that ``ccxt.async_support.binance`` / ``binanceusdm`` call,
with Binance's payload shapes, error codes and HMAC-SHA256 request signing, and keeps accounts,
orders, positions and prices in memory behind a small Python API. Point ccxt at it with
``route_exchange_to_stub(exchange, stub.base_url)``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import uvicorn

log = logging.getLogger(__name__)

SPOT = "spot"
FUTURES = "futures"
_MARKET_TYPE_ALIASES = {
    "spot": SPOT,
    "futures": FUTURES,
    "future": FUTURES,
    "swap": FUTURES,
    "linear": FUTURES,
    "usdm": FUTURES,
}
FAULTS = (None, "slow", "http_500", "malformed_json", "rate_limit_429", "rate_limit_418")
KLINE_LIMIT_CAP = {SPOT: 1000, FUTURES: 1500}
_NUMBER = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_INTERVAL_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_ZERO = Decimal(0)
_ONE = Decimal(1)
_E8 = Decimal("0.00000001")
SPOT_COMMISSION_ASSETS = (None, "base", "quote", "BNB")


def now_ms() -> int:
    return int(time.time() * 1000)


def _d(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _s8(value: Decimal) -> str:
    """Binance spot and wallet amounts: fixed 8 decimals."""
    return f"{value.quantize(_E8):f}"


def _decimals(value: Decimal) -> int:
    return max(0, -int(value.normalize().as_tuple().exponent))


def _fmt(value: Decimal, step: Decimal) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-_decimals(step))):f}"


def _plain(value: Decimal) -> str:
    return f"{value.quantize(_E8).normalize():f}"


class BinanceError(Exception):
    """An error answered the way Binance does: ``{"code": ..., "msg": ...}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg, self.status = code, msg, status


def _missing(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


# --------------------------------------------------------------------------- markets


@dataclass(frozen=True)
class Bracket:
    initial_leverage: int
    notional_floor: Decimal
    notional_cap: Decimal
    maint_margin_ratio: Decimal


@dataclass(frozen=True)
class MarketSpec:
    """One symbol's trading rules, as served in exchangeInfo filters."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    market_max_qty: Decimal
    min_price: Decimal
    max_price: Decimal = Decimal("1000000")
    brackets: tuple[Bracket, ...] = ()

    @property
    def max_leverage(self) -> int:
        return self.brackets[0].initial_leverage if self.brackets else 1


def _brackets(*rows: tuple[int, int, int, str]) -> tuple[Bracket, ...]:
    return tuple(Bracket(lev, _d(floor), _d(cap), _d(mmr)) for lev, floor, cap, mmr in rows)


def default_markets() -> dict[str, dict[str, MarketSpec]]:
    """BTC/ETH/XRP/BNB against USDT with filters close to Binance's real ones."""

    def spot(symbol: str, base: str, tick: str, step: str, market_max: str) -> MarketSpec:
        return MarketSpec(
            symbol,
            base,
            "USDT",
            _d(tick),
            _d(step),
            _d(step),
            Decimal("9000000"),
            Decimal("5"),
            _d(market_max),
            _d(tick),
        )

    def fut(
        symbol: str, base: str, tick: str, step: str, notional: str, brackets: tuple[Bracket, ...]
    ) -> MarketSpec:
        return MarketSpec(
            symbol,
            base,
            "USDT",
            _d(tick),
            _d(step),
            _d(step),
            Decimal("100000"),
            _d(notional),
            Decimal("10000"),
            _d(tick),
            Decimal("4529764"),
            brackets,
        )

    majors = _brackets(
        (125, 0, 50_000, "0.004"),
        (100, 50_000, 600_000, "0.005"),
        (50, 600_000, 3_000_000, "0.01"),
        (20, 3_000_000, 12_000_000, "0.025"),
    )
    alts = _brackets(
        (75, 0, 10_000, "0.01"), (50, 10_000, 100_000, "0.02"), (20, 100_000, 1_000_000, "0.05")
    )
    return {
        SPOT: {
            m.symbol: m
            for m in (
                spot("BTCUSDT", "BTC", "0.01", "0.00001", "100"),
                spot("ETHUSDT", "ETH", "0.01", "0.0001", "2000"),
                spot("XRPUSDT", "XRP", "0.0001", "0.1", "5000000"),
                spot("BNBUSDT", "BNB", "0.01", "0.001", "9000"),
            )
        },
        FUTURES: {
            m.symbol: m
            for m in (
                fut("BTCUSDT", "BTC", "0.10", "0.001", "100", majors),
                fut("ETHUSDT", "ETH", "0.01", "0.001", "20", majors),
                fut("XRPUSDT", "XRP", "0.0001", "0.1", "5", alts),
                fut("BNBUSDT", "BNB", "0.010", "0.01", "5", alts),
            )
        },
    }


DEFAULT_PRICES = {"BTCUSDT": "60000", "ETHUSDT": "3000", "XRPUSDT": "0.5", "BNBUSDT": "600"}

# --------------------------------------------------------------------------- state


@dataclass
class StubPosition:
    amount: Decimal = _ZERO  # signed: > 0 long, < 0 short (one-way mode)
    entry_price: Decimal = _ZERO
    update_time: int = 0


@dataclass
class StubOrder:
    market_type: str
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    reduce_only: bool = False
    status: str = "NEW"
    executed_qty: Decimal = _ZERO
    cum_quote: Decimal = _ZERO
    orig_quote_qty: Decimal = _ZERO
    time: int = field(default_factory=now_ms)
    update_time: int = field(default_factory=now_ms)
    fills: list[dict[str, Any]] = field(default_factory=list)
    locked: Decimal = _ZERO  # spot: what of the spent asset is still locked for this order
    held: bool = False  # scripted to rest: only complete_order / expire_order end it

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else _ZERO


@dataclass
class StubAccount:
    api_key: str
    secret: str
    spot_free: dict[str, Decimal]
    spot_locked: dict[str, Decimal]
    futures_wallet: dict[str, Decimal]
    futures_updated: dict[str, int]
    positions: dict[str, StubPosition] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    orders: list[StubOrder] = field(default_factory=list)
    client_order_ids: dict[str, set[str]] = field(
        default_factory=lambda: {SPOT: set(), FUTURES: set()}
    )
    dual_side_position: bool = False  # futures hedge mode (positionSide/dual)
    margin_type: dict[str, str] = field(default_factory=dict)  # symbol -> ISOLATED; else CROSSED


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]  # query + form body, without ``signature``
    api_key: str | None
    fault: str | None = None
    status: int | None = None


@dataclass
class _Ticker:
    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    volume: Decimal = _ZERO
    quote_volume: Decimal = _ZERO
    count: int = 0
    open_time: int = field(default_factory=now_ms)


@dataclass(frozen=True)
class _Route:
    handler: Callable[[dict[str, str], StubAccount | None], Any]
    signed: bool
    market_type: str


# --------------------------------------------------------------------------- scripted orders

_TIMEOUT = (
    -1007,
    "Timeout waiting for response from backend server. Send status unknown;"
    " execution status unknown.",
    503,
)


@dataclass(frozen=True)
class OrderOutcome:
    """What the stub does with one new order instead of filling it whole at the last price.

    Queue them with :meth:`BinanceStub.script_orders`; build them with the class methods.
    ``fills`` are (fraction of the quantity, price or None for the last price), executed in
    order; ``ends`` is the status after them: ``FILLED`` (the last fill takes the remainder),
    ``EXPIRED``, or ``OPEN`` (NEW / PARTIALLY_FILLED until ``BinanceStub.complete_order`` or
    ``expire_order``). With ``execute`` False nothing is placed and ``error`` (code, msg, HTTP
    status) is the answer. ``hold_seconds`` delays the HTTP answer (placed or not: a held
    unplaced order answers Binance's -1007 "execution status unknown").

    Fill shapes apply to orders that execute on arrival (MARKET, or a LIMIT that crosses); an
    order that would rest on the book rests as usual and the outcome is used up.
    """

    fills: tuple[tuple[Decimal, Decimal | None], ...] = ((_ONE, None),)
    ends: str = "FILLED"
    error: tuple[int, str, int] | None = None
    hold_seconds: float = 0.0
    execute: bool = True

    def __post_init__(self) -> None:
        if self.ends not in ("FILLED", "EXPIRED", "OPEN"):
            raise ValueError(f"ends must be FILLED, EXPIRED or OPEN, not {self.ends!r}")
        fractions = [fraction for fraction, _ in self.fills]
        if any(f <= 0 for f in fractions) or sum(fractions, _ZERO) > 1:
            raise ValueError("fill fractions must be positive and add up to at most 1")
        if self.execute and self.ends == "FILLED" and sum(fractions, _ZERO) != 1:
            raise ValueError("a FILLED outcome's fractions must add up to 1")

    # ---- fills

    @classmethod
    def fill(cls, fills: Iterable[tuple[object, object | None]]) -> OrderOutcome:
        """Fill completely in several fills: ``[("0.4", None), ("0.6", "60100")]``."""
        return cls(fills=_fills(fills))

    @classmethod
    def partial_then_expire(cls, fraction: object, price: object | None = None) -> OrderOutcome:
        """Fill ``fraction`` of the quantity, then end EXPIRED (the book ran out)."""
        return cls(fills=_fills([(fraction, price)]), ends="EXPIRED")

    @classmethod
    def expire(cls) -> OrderOutcome:
        """End EXPIRED with nothing filled."""
        return cls(fills=(), ends="EXPIRED")

    @classmethod
    def rest(cls, fraction: object = 0, price: object | None = None) -> OrderOutcome:
        """Stay NEW (or PARTIALLY_FILLED after ``fraction``) until the test completes it."""
        return cls(fills=_fills([(fraction, price)]) if _d(fraction) else (), ends="OPEN")

    # ---- errors

    @classmethod
    def reject(cls, code: int, msg: str, status: int = 400) -> OrderOutcome:
        """Answer this Binance error; nothing is placed and the client order id stays free."""
        return cls(fills=(), error=(code, msg, status), execute=False)

    @classmethod
    def insufficient_balance(cls) -> OrderOutcome:
        """Spot -2010: the balance does not cover the order."""
        return cls.reject(-2010, "Account has insufficient balance for requested action.")

    @classmethod
    def margin_insufficient(cls) -> OrderOutcome:
        """Futures -2019: the available margin does not cover the order."""
        return cls.reject(-2019, "Margin is insufficient.")

    @classmethod
    def position_side_mismatch(cls) -> OrderOutcome:
        """Futures -4061: positionSide does not fit the account's one-way / hedge mode."""
        return cls.reject(-4061, "Order's position side does not match user's setting.")

    @classmethod
    def max_position_exceeded(cls) -> OrderOutcome:
        """Futures -2027: the position would exceed the bracket's cap at this leverage."""
        return cls.reject(-2027, "Exceeded the maximum allowable position at current leverage.")

    @classmethod
    def filter_failure(cls, filter_type: str = "LOT_SIZE") -> OrderOutcome:
        """-1013 ``Filter failure: <filter_type>`` (LOT_SIZE, NOTIONAL, PRICE_FILTER, ...)."""
        return cls.reject(-1013, f"Filter failure: {filter_type}")

    # ---- lost answers

    @classmethod
    def timeout_after_execute(
        cls, seconds: float, outcome: OrderOutcome | None = None
    ) -> OrderOutcome:
        """Place and fill as usual (or as ``outcome``), but hold the answer ``seconds``."""
        return replace(outcome or cls(), hold_seconds=seconds)

    @classmethod
    def timeout_before_execute(cls, seconds: float) -> OrderOutcome:
        """Hold the answer ``seconds`` and never place the order; then answer -1007."""
        return cls(fills=(), error=_TIMEOUT, hold_seconds=seconds, execute=False)


def _fills(
    rows: Iterable[tuple[object, object | None]],
) -> tuple[tuple[Decimal, Decimal | None], ...]:
    return tuple((_d(fraction), None if price is None else _d(price)) for fraction, price in rows)


@dataclass(frozen=True)
class _Held:
    """A handler's answer (payload or error) to send only after ``seconds``."""

    answer: Any
    seconds: float


# --------------------------------------------------------------------------- ccxt wiring


def rewrite_api_urls(api: Any, base_url: str) -> Any:
    """Replace scheme and host of every URL (nested dicts included), keeping each path."""
    if isinstance(api, str):
        target = urlsplit(base_url)
        return urlunsplit(urlsplit(api)._replace(scheme=target.scheme, netloc=target.netloc))
    if isinstance(api, Mapping):
        return {key: rewrite_api_urls(value, base_url) for key, value in api.items()}
    return api


_CCXT_MARKET_TYPE_BY_PATH = (
    ("/fapi/", "linear"),
    ("/futures/data", "linear"),
    ("/dapi/", "inverse"),
    ("/eapi/", "option"),
    ("/papi/", "portfolioMargin"),
    ("/api/", "spot"),
    ("/sapi/", "spot"),
)


def route_exchange_to_stub(
    exchange: Any, base_url: str, *, market_type_errors: bool = True
) -> None:
    """Send every REST call of a ccxt binance/binanceusdm instance to ``base_url``.

    ccxt picks its per-market error table (e.g. futures ``-2019`` -> InsufficientFunds,
    ``-4164`` -> InvalidOrder) from the request URL's *hostname* (``https://fapi.binance.com/``),
    which a rewritten URL no longer has. With ``market_type_errors`` the instance classifies by
    URL path instead, so errors map exactly as they do against the real hosts.
    """
    exchange.urls["api"] = rewrite_api_urls(exchange.urls["api"], base_url)
    if not market_type_errors:
        return

    def get_exceptions_by_url(url: str | None, exact_or_broad: str) -> dict[str, Any]:
        path = urlsplit(url or "").path
        for prefix, market_type in _CCXT_MARKET_TYPE_BY_PATH:
            if path.startswith(prefix):
                table: dict[str, Any] = exchange.exceptions.get(market_type) or {}
                return table.get(exact_or_broad) or {}
        return {}

    exchange.get_exceptions_by_url = get_exceptions_by_url


# --------------------------------------------------------------------------- the stub


class BinanceStub:
    """In-memory Binance spot + USD-M futures REST API on 127.0.0.1, served from a thread."""

    def __init__(
        self,
        markets: dict[str, dict[str, MarketSpec]] | None = None,
        prices: Mapping[str, object] | None = None,
    ) -> None:
        self.markets = markets if markets is not None else default_markets()
        self.spot_fee_rate = Decimal("0.001")
        self.futures_fee_rate = Decimal("0.0005")
        self.default_leverage = 20
        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self.fault: str | None = None
        self.fault_path_prefix: str | None = None
        self.fault_times: int | None = None  # None: until cleared; n: the next n matching calls
        self.delay_seconds = 2.0
        self.retry_after_seconds = 1
        self.server_time_offset_ms = 0  # the server's clock = local clock + this
        self.spot_bnb_discount = Decimal("0.25")  # Binance's discount for fees paid in BNB
        self._spot_commission_asset: str | None = None
        self._script: deque[OrderOutcome] = deque()
        self._lock = threading.RLock()
        self._accounts: dict[str, StubAccount] = {}
        self._tickers: dict[tuple[str, str], _Ticker] = {}
        self._klines: dict[tuple[str, str], tuple[str | None, list[tuple[Any, ...]]]] = {}
        self._order_ids = itertools.count(100_000_001)
        self._trade_ids = itertools.count(1)
        self._transfer_ids = itertools.count(900_000_001)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._port = 0
        for market_type, specs in self.markets.items():
            for symbol in specs:
                price = (prices or DEFAULT_PRICES).get(symbol, DEFAULT_PRICES.get(symbol, "1"))
                self.set_price(symbol, price, market_type)
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError("BinanceStub is not started")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> BinanceStub:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._stopping = False
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="binance-stub", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("BinanceStub did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._stopping = True
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> BinanceStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ test API

    def add_account(
        self,
        api_key: str,
        secret: str,
        spot: Mapping[str, object] | None = None,
        futures: Mapping[str, object] | None = None,
    ) -> StubAccount:
        """Register an API key; only registered keys authenticate. Amounts are decimals."""
        spot = {"USDT": "10000"} if spot is None else spot
        futures = {"USDT": "0"} if futures is None else futures
        account = StubAccount(
            api_key=api_key,
            secret=secret,
            spot_free={asset: _d(amount) for asset, amount in spot.items()},
            spot_locked={asset: _ZERO for asset in spot},
            futures_wallet={asset: _d(amount) for asset, amount in futures.items()},
            # Binance lists never-used futures assets with updateTime 0 and ccxt skips them.
            futures_updated={asset: self._now() for asset in futures},
        )
        with self._lock:
            self._accounts[api_key] = account
        return account

    def remove_account(self, api_key: str) -> None:
        """Revoke a key: later calls with it get -2015."""
        with self._lock:
            self._accounts.pop(api_key, None)

    def account(self, api_key: str) -> StubAccount:
        return self._accounts[api_key]

    def orders(self, api_key: str | None = None, market_type: str | None = None) -> list[StubOrder]:
        with self._lock:
            accounts = [self._accounts[api_key]] if api_key else list(self._accounts.values())
            kind = _MARKET_TYPE_ALIASES[market_type] if market_type else None
            return [o for a in accounts for o in a.orders if kind in (None, o.market_type)]

    def add_market(self, market_type: str, spec: MarketSpec, price: object = "1") -> None:
        kind = _MARKET_TYPE_ALIASES[market_type]
        with self._lock:
            self.markets[kind][spec.symbol] = spec
            self.set_price(spec.symbol, price, kind)

    def set_price(self, symbol: str, price: object, market_type: str | None = None) -> None:
        """Set the last/mark price (spot and futures unless ``market_type`` is given).

        It is the ticker price and the fill price of MARKET orders; resting LIMIT orders that
        the new price crosses fill at their limit price.
        """
        market_id, kinds = self._resolve(symbol, market_type)
        value = _d(price)
        with self._lock:
            for kind in kinds:
                if market_id not in self.markets.get(kind, {}):
                    continue
                ticker = self._tickers.get((kind, market_id))
                if ticker is None:
                    self._tickers[(kind, market_id)] = _Ticker(
                        value, value, value, value, open_time=self._now()
                    )
                else:
                    ticker.last = value
                    ticker.high, ticker.low = max(ticker.high, value), min(ticker.low, value)
                    self._fill_crossed_orders(kind, market_id, value)

    def price(self, symbol: str, market_type: str = SPOT) -> Decimal:
        market_id, _ = self._resolve(symbol, market_type)
        return self._tickers[(_MARKET_TYPE_ALIASES[market_type], market_id)].last

    def set_klines(
        self,
        symbol: str,
        market_type: str,
        rows: Iterable[Iterable[object]],
        interval: str | None = None,
    ) -> None:
        """Candles ``[open_time_ms, o, h, l, c, v]``; served for ``interval`` (None: any)."""
        market_id, kinds = self._resolve(symbol, market_type)
        parsed = sorted(tuple(r) for r in rows)
        with self._lock:
            for kind in kinds:
                self._klines[(kind, market_id)] = (interval, parsed)

    def inject_fault(
        self,
        fault: str | None,
        *,
        path_prefix: str | None = None,
        times: int | None = None,
        delay_seconds: float | None = None,
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        with self._lock:
            self.fault, self.fault_path_prefix, self.fault_times = fault, path_prefix, times
            if delay_seconds is not None:
                self.delay_seconds = delay_seconds

    def clear_fault(self) -> None:
        self.inject_fault(None)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path and method in (None, r.method)]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()
            self.unhandled.clear()

    @property
    def spot_commission_asset(self) -> str | None:
        """Where spot commissions go: None (Binance's default: what the fill gives you, so
        buys pay in the base asset and sells in the quote asset), ``"base"``, ``"quote"`` or
        ``"BNB"``.

        With ``"BNB"`` the commission is the quote value times ``spot_fee_rate`` less
        ``spot_bnb_discount`` (25 %), converted at the BNB<quote> (else BNBUSDT) price and
        taken from the BNB balance; when that balance falls short the fill pays in the usual
        asset, as on Binance. Setting it adds a BNBUSDT spot market if there is none.
        """
        return self._spot_commission_asset

    @spot_commission_asset.setter
    def spot_commission_asset(self, asset: str | None) -> None:
        if asset not in SPOT_COMMISSION_ASSETS:
            raise ValueError(f"spot_commission_asset must be one of {SPOT_COMMISSION_ASSETS}")
        with self._lock:
            if asset == "BNB" and "BNBUSDT" not in self.markets[SPOT]:
                spec = default_markets()[SPOT]["BNBUSDT"]
                self.add_market(SPOT, spec, DEFAULT_PRICES["BNBUSDT"])
            self._spot_commission_asset = asset

    def script_orders(self, *outcomes: OrderOutcome) -> None:
        """Queue outcomes for the next new orders (spot or futures, any account), one each.

        Each order request that authenticates takes the next outcome, whatever then happens
        to it; with the queue empty, orders fill completely at the last price.
        """
        with self._lock:
            self._script.extend(outcomes)

    def scripted_orders(self) -> list[OrderOutcome]:
        """The outcomes not used yet."""
        with self._lock:
            return list(self._script)

    def clear_script(self) -> None:
        with self._lock:
            self._script.clear()

    def complete_order(
        self, client_order_id: str, price: object | None = None, market_type: str | None = None
    ) -> StubOrder:
        """Fill what is left of an open order at ``price`` (None: a LIMIT order's own price,
        a MARKET order's last price)."""
        with self._lock:
            a, o = self._open_order(client_order_id, market_type)
            spec = self.markets[o.market_type][o.symbol]
            if price is not None:
                fill_price = _d(price)
            else:
                fill_price = o.price if o.type != "MARKET" else self._last(o.market_type, o.symbol)
            o.held = False
            if o.market_type == SPOT:
                self._fill_spot(a, spec, o, fill_price, maker=o.type != "MARKET")
            else:
                self._fill_futures(a, spec, o, fill_price, maker=o.type != "MARKET")
            return o

    def expire_order(self, client_order_id: str, market_type: str | None = None) -> StubOrder:
        """End an open order EXPIRED, keeping what it filled and releasing its locked funds."""
        with self._lock:
            a, o = self._open_order(client_order_id, market_type)
            self._expire(a, o)
            return o

    def _open_order(
        self, client_order_id: str, market_type: str | None
    ) -> tuple[StubAccount, StubOrder]:
        kind = _MARKET_TYPE_ALIASES[market_type] if market_type else None
        for a in self._accounts.values():
            for o in a.orders:
                if o.client_order_id == client_order_id and kind in (None, o.market_type):
                    if not o.is_open:
                        raise LookupError(f"order {client_order_id!r} is {o.status}, not open")
                    return a, o
        raise LookupError(f"no order with client order id {client_order_id!r}")

    def _now(self) -> int:
        return now_ms() + self.server_time_offset_ms

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status, payload, extra = await self._handle(
            scope["method"],
            scope["path"],
            scope["query_string"].decode("latin-1"),
            body.decode("utf-8", "replace"),
            headers,
        )
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        response_headers = [
            (b"content-type", b"application/json;charset=UTF-8"),
            (b"x-mbx-used-weight-1m", str(len(self.requests)).encode()),
            *((k.encode(), v.encode()) for k, v in extra.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": raw})

    async def _handle(
        self, method: str, path: str, query: str, body: str, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        api_key = headers.get("x-mbx-apikey")
        with self._lock:
            fault = self._take_fault(path)
            record = RecordedRequest(
                method, path, {k: v for k, v in params.items() if k != "signature"}, api_key, fault
            )
            self.requests.append(record)
        status, payload, extra = await self._respond(
            method, path, query, body, params, fault, record
        )
        record.status = status
        return status, payload, extra

    async def _respond(
        self,
        method: str,
        path: str,
        query: str,
        body: str,
        params: dict[str, str],
        fault: str | None,
        record: RecordedRequest,
    ) -> tuple[int, Any, dict[str, str]]:
        retry = {"Retry-After": str(self.retry_after_seconds)}
        if fault == "slow":
            await self._sleep(self.delay_seconds)
        elif fault == "http_500":
            return 500, b"<html><body><h1>500 Internal Server Error</h1></body></html>", {}
        elif fault == "malformed_json":
            return 200, b'{"symbol":"BTCUSDT","lastPrice":"600', {}
        elif fault == "rate_limit_429":
            msg = (
                "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute."
                " Please use WebSocket Streams for live updates to avoid polling the API."
            )
            return 429, {"code": -1003, "msg": msg}, retry
        elif fault == "rate_limit_418":
            msg = (
                f"Way too many requests; IP(127.0.0.1) banned until {self._now() + 120_000}."
                " Please use WebSocket Streams for live updates to avoid bans."
            )
            return 418, {"code": -1003, "msg": msg}, retry
        route = self._routes.get((method, path))
        if route is None:
            log.warning("binance_stub: no route for %s %s %s", method, path, record.params)
            with self._lock:
                self.unhandled.append(record)
            return 404, {"code": -1, "msg": f"binance_stub: no route for {method} {path}"}, {}
        answer: Any
        try:
            with self._lock:
                account = self._authenticate(route, query, body, params, record.api_key)
                answer = route.handler(params, account)
        except BinanceError as exc:
            answer = exc
        if isinstance(answer, _Held):
            await self._sleep(answer.seconds)
            answer = answer.answer
        if isinstance(answer, BinanceError):
            return answer.status, {"code": answer.code, "msg": answer.msg}, {}
        return 200, answer, {}

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._stopping:
            await asyncio.sleep(0.02)

    def _take_fault(self, path: str) -> str | None:
        if self.fault is None or not path.startswith(self.fault_path_prefix or ""):
            return None
        fault = self.fault
        if self.fault_times is not None:
            self.fault_times -= 1
            if self.fault_times <= 0:
                self.fault = self.fault_path_prefix = self.fault_times = None
        return fault

    def _authenticate(
        self, route: _Route, query: str, body: str, params: dict[str, str], api_key: str | None
    ) -> StubAccount | None:
        if not route.signed:
            return None
        if not api_key:
            raise BinanceError(-2014, "API-key format invalid.", 401)
        account = self._accounts.get(api_key)
        if account is None:
            suffix = ", request ip: 127.0.0.1" if route.market_type == FUTURES else ""
            msg = "Invalid API-key, IP, or permissions for action" + (suffix or ".")
            raise BinanceError(-2015, msg, 401)
        signature = params.get("signature")
        if "timestamp" not in params:
            raise _missing("timestamp")
        if not signature:
            raise _missing("signature")
        # Binance signs "query string + request body" verbatim, signature parameter excluded.
        payload = _without_signature(query) + _without_signature(body)
        expected = hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        timestamp = _int(params, "timestamp")
        recv_window = _int(params, "recvWindow") if "recvWindow" in params else 5000
        if recv_window > 60_000:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
        server_time = self._now()
        if timestamp - server_time > 1000:
            raise BinanceError(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if server_time - timestamp > recv_window:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
        return account

    # ------------------------------------------------------------------ routing

    def _build_routes(self) -> dict[tuple[str, str], _Route]:
        s, f = SPOT, FUTURES
        table: list[tuple[str, str, Callable[..., Any], bool, str]] = [
            ("GET", "/api/v3/ping", lambda p, a: {}, False, s),
            ("GET", "/api/v3/time", lambda p, a: {"serverTime": self._now()}, False, s),
            ("GET", "/api/v3/exchangeInfo", self._spot_exchange_info, False, s),
            ("GET", "/api/v3/ticker/24hr", self._ticker_24hr(s), False, s),
            ("GET", "/api/v3/ticker/price", self._ticker_price(s), False, s),
            ("GET", "/api/v3/ticker/bookTicker", self._book_ticker(s), False, s),
            ("GET", "/api/v3/klines", self._klines_handler(s), False, s),
            ("GET", "/api/v3/account", self._spot_account, True, s),
            ("POST", "/api/v3/order", self._scripted(self._spot_new_order), True, s),
            ("GET", "/api/v3/order", self._get_order(s), True, s),
            ("DELETE", "/api/v3/order", self._cancel_order(s), True, s),
            ("GET", "/api/v3/openOrders", self._open_orders(s), True, s),
            ("GET", "/api/v3/allOrders", self._all_orders(s), True, s),
            ("GET", "/api/v3/myTrades", self._my_trades(s), True, s),
            ("POST", "/sapi/v1/asset/transfer", self._transfer, True, s),
            ("GET", "/sapi/v1/capital/config/getall", self._capital_config, True, s),
            ("GET", "/sapi/v1/margin/allPairs", lambda p, a: [], True, s),
            ("GET", "/sapi/v1/margin/isolated/allPairs", lambda p, a: [], True, s),
            ("GET", "/fapi/v1/ping", lambda p, a: {}, False, f),
            ("GET", "/fapi/v1/time", lambda p, a: {"serverTime": self._now()}, False, f),
            ("GET", "/fapi/v1/exchangeInfo", self._futures_exchange_info, False, f),
            ("GET", "/fapi/v1/ticker/24hr", self._ticker_24hr(f), False, f),
            ("GET", "/fapi/v1/ticker/price", self._ticker_price(f), False, f),
            ("GET", "/fapi/v2/ticker/price", self._ticker_price(f), False, f),
            ("GET", "/fapi/v1/ticker/bookTicker", self._book_ticker(f), False, f),
            ("GET", "/fapi/v1/premiumIndex", self._premium_index, False, f),
            ("GET", "/fapi/v1/klines", self._klines_handler(f), False, f),
            ("GET", "/fapi/v3/account", self._futures_account(v2=False), True, f),
            ("GET", "/fapi/v2/account", self._futures_account(v2=True), True, f),
            ("POST", "/fapi/v1/order", self._scripted(self._futures_new_order), True, f),
            ("GET", "/fapi/v1/order", self._get_order(f), True, f),
            ("DELETE", "/fapi/v1/order", self._cancel_order(f), True, f),
            ("GET", "/fapi/v1/openOrders", self._open_orders(f), True, f),
            ("GET", "/fapi/v1/allOrders", self._all_orders(f), True, f),
            ("GET", "/fapi/v1/userTrades", self._my_trades(f), True, f),
            ("GET", "/fapi/v3/positionRisk", self._position_risk(v2=False), True, f),
            ("GET", "/fapi/v2/positionRisk", self._position_risk(v2=True), True, f),
            ("GET", "/fapi/v1/leverageBracket", self._leverage_bracket, True, f),
            ("POST", "/fapi/v1/leverage", self._set_leverage, True, f),
            ("GET", "/fapi/v1/symbolConfig", self._symbol_config, True, f),
            (
                "GET",
                "/fapi/v1/positionSide/dual",
                lambda p, a: {"dualSidePosition": a.dual_side_position},
                True,
                f,
            ),
            ("POST", "/fapi/v1/positionSide/dual", self._set_position_side_dual, True, f),
            ("POST", "/fapi/v1/marginType", self._set_margin_type, True, f),
        ]
        return {(m, path): _Route(h, signed, kind) for m, path, h, signed, kind in table}

    def _resolve(self, symbol: str, market_type: str | None) -> tuple[str, tuple[str, ...]]:
        """Accept Binance ids (BTCUSDT) and ccxt symbols (BTC/USDT, BTC/USDT:USDT)."""
        unified, _, settle = symbol.partition(":")
        market_id = unified.replace("/", "").upper()
        if market_type is not None:
            return market_id, (_MARKET_TYPE_ALIASES[market_type],)
        return market_id, (FUTURES,) if settle else (SPOT, FUTURES)

    def _market(self, kind: str, params: Mapping[str, str]) -> MarketSpec:
        symbol = params.get("symbol")
        if not symbol:
            raise _missing("symbol")
        spec = self.markets[kind].get(symbol)
        if spec is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return spec

    def _last(self, kind: str, symbol: str) -> Decimal:
        return self._tickers[(kind, symbol)].last

    # ------------------------------------------------------------------ market data

    def _spot_exchange_info(self, params: dict[str, str], _: object) -> dict[str, Any]:
        symbols = []
        for m in self._selected(SPOT, params):
            filters = [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": _s8(m.min_price),
                    "maxPrice": _s8(m.max_price),
                    "tickSize": _s8(m.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": _s8(m.min_qty),
                    "maxQty": _s8(m.max_qty),
                    "stepSize": _s8(m.step_size),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": _s8(_ZERO),
                    "maxQty": _s8(m.market_max_qty),
                    "stepSize": _s8(_ZERO),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": _s8(m.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            ]
            symbols.append(
                {
                    "symbol": m.symbol,
                    "status": "TRADING",
                    "baseAsset": m.base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": m.quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": [
                        "LIMIT",
                        "LIMIT_MAKER",
                        "MARKET",
                        "STOP_LOSS_LIMIT",
                        "TAKE_PROFIT_LIMIT",
                    ],
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "quoteOrderQtyMarketAllowed": True,
                    "allowTrailingStop": True,
                    "cancelReplaceAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": filters,
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                    "allowedSelfTradePreventionModes": [
                        "EXPIRE_TAKER",
                        "EXPIRE_MAKER",
                        "EXPIRE_BOTH",
                    ],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self._now(),
            "rateLimits": _RATE_LIMITS,
            "exchangeFilters": [],
            "symbols": symbols,
        }

    def _futures_exchange_info(self, params: dict[str, str], _: object) -> dict[str, Any]:
        symbols = []
        for m in self._selected(FUTURES, params):
            filters = [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": _plain(m.min_price),
                    "maxPrice": _plain(m.max_price),
                    "tickSize": _plain(m.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": _plain(m.min_qty),
                    "maxQty": _plain(m.max_qty),
                    "stepSize": _plain(m.step_size),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": _plain(m.min_qty),
                    "maxQty": _plain(m.market_max_qty),
                    "stepSize": _plain(m.step_size),
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": _plain(m.min_notional)},
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "1.0500",
                    "multiplierDown": "0.9500",
                    "multiplierDecimal": "4",
                },
            ]
            symbols.append(
                {
                    "symbol": m.symbol,
                    "pair": m.symbol,
                    "contractType": "PERPETUAL",
                    "deliveryDate": 4133404800000,
                    "onboardDate": 1569398400000,
                    "status": "TRADING",
                    "maintMarginPercent": "2.5000",
                    "requiredMarginPercent": "5.0000",
                    "baseAsset": m.base,
                    "quoteAsset": m.quote,
                    "marginAsset": m.quote,
                    "pricePrecision": _decimals(m.tick_size),
                    "quantityPrecision": _decimals(m.step_size),
                    "baseAssetPrecision": 8,
                    "quotePrecision": 8,
                    "underlyingType": "COIN",
                    "underlyingSubType": [],
                    "triggerProtect": "0.0500",
                    "liquidationFee": "0.012500",
                    "marketTakeBound": "0.05",
                    "maxMoveOrderLimit": 10000,
                    "filters": filters,
                    "orderTypes": [
                        "LIMIT",
                        "MARKET",
                        "STOP",
                        "STOP_MARKET",
                        "TAKE_PROFIT",
                        "TAKE_PROFIT_MARKET",
                        "TRAILING_STOP_MARKET",
                    ],
                    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self._now(),
            "futuresType": "U_MARGINED",
            "rateLimits": _RATE_LIMITS,
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": symbols,
        }

    def _selected(self, kind: str, params: Mapping[str, str]) -> list[MarketSpec]:
        if "symbol" in params:
            return [self._market(kind, params)]
        if "symbols" in params:
            ids = json.loads(params["symbols"])
            return [self._market(kind, {"symbol": i}) for i in ids]
        return list(self.markets[kind].values())

    def _ticker_24hr(self, kind: str) -> Callable[..., Any]:
        def handler(params: dict[str, str], _: object) -> Any:
            rows = [self._ticker_row(kind, m) for m in self._selected(kind, params)]
            return rows[0] if "symbol" in params else rows

        return handler

    def _ticker_row(self, kind: str, m: MarketSpec) -> dict[str, Any]:
        t = self._tickers[(kind, m.symbol)]
        p = _s8 if kind == SPOT else (lambda v: _fmt(v, m.tick_size))
        change = t.last - t.open
        row: dict[str, Any] = {
            "symbol": m.symbol,
            "priceChange": p(change),
            "priceChangePercent": f"{(change / t.open * 100).quantize(Decimal('0.001')):f}",
            "weightedAvgPrice": p(t.quote_volume / t.volume if t.volume else t.last),
            "lastPrice": p(t.last),
            "lastQty": _s8(_ZERO),
            "openPrice": p(t.open),
            "highPrice": p(t.high),
            "lowPrice": p(t.low),
            "volume": _s8(t.volume),
            "quoteVolume": _s8(t.quote_volume),
            "openTime": t.open_time,
            "closeTime": self._now(),
            "firstId": 0,
            "lastId": t.count,
            "count": t.count,
        }
        if kind == SPOT:  # the futures 24hr ticker carries no book prices
            row.update(
                prevClosePrice=p(t.open),
                bidPrice=p(t.last),
                bidQty="1.00000000",
                askPrice=p(t.last),
                askQty="1.00000000",
            )
        return row

    def _ticker_price(self, kind: str) -> Callable[..., Any]:
        def handler(params: dict[str, str], _: object) -> Any:
            rows = [
                {"symbol": m.symbol, "price": _s8(self._last(kind, m.symbol)), "time": self._now()}
                for m in self._selected(kind, params)
            ]
            return rows[0] if "symbol" in params else rows

        return handler

    def _book_ticker(self, kind: str) -> Callable[..., Any]:
        def handler(params: dict[str, str], _: object) -> Any:
            rows = []
            for m in self._selected(kind, params):
                last = _s8(self._last(kind, m.symbol))
                rows.append(
                    {
                        "symbol": m.symbol,
                        "bidPrice": last,
                        "bidQty": "1.00000000",
                        "askPrice": last,
                        "askQty": "1.00000000",
                        "time": self._now(),
                    }
                )
            return rows[0] if "symbol" in params else rows

        return handler

    def _premium_index(self, params: dict[str, str], _: object) -> Any:
        rows = []
        for m in self._selected(FUTURES, params):
            last = _s8(self._last(FUTURES, m.symbol))
            rows.append(
                {
                    "symbol": m.symbol,
                    "markPrice": last,
                    "indexPrice": last,
                    "estimatedSettlePrice": last,
                    "lastFundingRate": "0.00010000",
                    "interestRate": "0.00010000",
                    "nextFundingTime": self._now() + 3_600_000,
                    "time": self._now(),
                }
            )
        return rows[0] if "symbol" in params else rows

    def _klines_handler(self, kind: str) -> Callable[..., Any]:
        def handler(params: dict[str, str], _: object) -> list[list[Any]]:
            spec = self._market(kind, params)
            interval = params.get("interval")
            if not interval:
                raise _missing("interval")
            unit_ms = _INTERVAL_MS.get(interval[-1:])
            if unit_ms is None or not interval[:-1].isdigit():
                raise BinanceError(-1120, "Invalid interval.")
            if interval[-1] == "M":
                unit_ms = 2_592_000_000
            duration = int(interval[:-1]) * unit_ms
            limit = min(
                max(_int(params, "limit") if "limit" in params else 500, 1), KLINE_LIMIT_CAP[kind]
            )
            only_for, rows = self._klines.get((kind, spec.symbol), (None, []))
            if only_for not in (None, interval):
                rows = []
            start = _int(params, "startTime") if "startTime" in params else None
            end = _int(params, "endTime") if "endTime" in params else None
            if start is not None and end is not None and start > end:
                raise BinanceError(-1023, "Start time is greater than end time.")
            chosen = [
                r for r in rows if (start is None or r[0] >= start) and (end is None or r[0] <= end)
            ]
            # With a startTime Binance pages forward from it, otherwise it returns the latest.
            chosen = chosen[:limit] if start is not None else chosen[-limit:]
            return [_kline(row, duration) for row in chosen]

        return handler

    # ------------------------------------------------------------------ spot account

    def _spot_account(self, params: dict[str, str], a: StubAccount) -> dict[str, Any]:
        balances = [
            {
                "asset": asset,
                "free": _s8(a.spot_free.get(asset, _ZERO)),
                "locked": _s8(a.spot_locked.get(asset, _ZERO)),
            }
            for asset in sorted(set(a.spot_free) | set(a.spot_locked))
        ]
        if params.get("omitZeroBalances") == "true":
            balances = [b for b in balances if _d(b["free"]) or _d(b["locked"])]
        fee = _s8(self.spot_fee_rate)
        bps = int(self.spot_fee_rate * 10000)
        return {
            "makerCommission": bps,
            "takerCommission": bps,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": fee,
                "taker": fee,
                "buyer": _s8(_ZERO),
                "seller": _s8(_ZERO),
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self._now(),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": abs(hash(a.api_key)) % 10**9,
        }

    def _capital_config(self, params: dict[str, str], a: StubAccount) -> list[dict[str, Any]]:
        assets = {m.base for specs in self.markets.values() for m in specs.values()}
        assets |= {m.quote for specs in self.markets.values() for m in specs.values()}
        assets |= set(a.spot_free)
        return [
            {
                "coin": c,
                "name": c,
                "depositAllEnable": True,
                "withdrawAllEnable": True,
                "free": _s8(a.spot_free.get(c, _ZERO)),
                "locked": _s8(a.spot_locked.get(c, _ZERO)),
                "freeze": "0",
                "withdrawing": "0",
                "ipoing": "0",
                "ipoable": "0",
                "storage": "0",
                "isLegalMoney": False,
                "trading": True,
                "networkList": [
                    {
                        "network": "BSC",
                        "coin": c,
                        "isDefault": True,
                        "depositEnable": True,
                        "withdrawEnable": True,
                        "withdrawFee": "0",
                        "withdrawMin": "0",
                        "withdrawMax": "9999999",
                        "withdrawIntegerMultiple": "0.00000001",
                    }
                ],
            }
            for c in sorted(assets)
        ]

    def _transfer(self, params: dict[str, str], a: StubAccount) -> dict[str, Any]:
        kind = params.get("type")
        asset = params.get("asset")
        if not kind:
            raise _missing("type")
        if not asset:
            raise _missing("asset")
        amount = _number(params, "amount")
        if amount <= 0:
            raise BinanceError(-1102, "Param 'amount' must be greater than zero.")
        insufficient = BinanceError(-5013, "Asset transfer failed: insufficient balance")
        if kind == "MAIN_UMFUTURE":
            if a.spot_free.get(asset, _ZERO) < amount:
                raise insufficient
            a.spot_free[asset] -= amount
            a.futures_wallet[asset] = a.futures_wallet.get(asset, _ZERO) + amount
        elif kind == "UMFUTURE_MAIN":
            if self._futures_available(a) < amount or a.futures_wallet.get(asset, _ZERO) < amount:
                raise insufficient
            a.futures_wallet[asset] -= amount
            a.spot_free[asset] = a.spot_free.get(asset, _ZERO) + amount
        elif "ISOLATED" in kind and not {
            params.get("fromSymbol"),
            params.get("toSymbol"),
        } & set(self.markets[SPOT]):
            # ccxt sends e.g. transfer(..., "spot", "future") as MAIN_ISOLATED_MARGIN to "FUTURE"
            raise BinanceError(-1121, "Invalid symbol.")
        else:
            log.warning("binance_stub: transfer type %s is not implemented", kind)
            raise BinanceError(-1100, f"Illegal characters found in parameter 'type': {kind}.")
        a.futures_updated[asset] = self._now()
        return {"tranId": next(self._transfer_ids)}

    # ------------------------------------------------------------------ orders (shared)

    def _find_order(self, kind: str, params: dict[str, str], a: StubAccount) -> StubOrder | None:
        spec = self._market(kind, params)
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if not order_id and not client_id:
            raise BinanceError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        for order in a.orders:
            if order.market_type != kind or order.symbol != spec.symbol:
                continue
            if (order_id and str(order.order_id) == order_id) or (
                not order_id and order.client_order_id == client_id
            ):
                return order
        return None

    def _get_order(self, kind: str) -> Callable[..., Any]:
        def handler(params: dict[str, str], a: StubAccount) -> dict[str, Any]:
            order = self._find_order(kind, params, a)
            if order is None:
                raise BinanceError(-2013, "Order does not exist.")
            return self._order_json(order, "FULL_QUERY")

        return handler

    def _cancel_order(self, kind: str) -> Callable[..., Any]:
        def handler(params: dict[str, str], a: StubAccount) -> dict[str, Any]:
            order = self._find_order(kind, params, a)
            if order is None or not order.is_open:
                raise BinanceError(-2011, "Unknown order sent.")
            self._release(order, a)
            order.status, order.update_time = "CANCELED", self._now()
            payload = self._order_json(order, "RESULT")
            if kind == SPOT:
                payload["origClientOrderId"] = order.client_order_id
                payload["clientOrderId"] = params.get("newClientOrderId") or _client_id()
            return payload

        return handler

    def _open_orders(self, kind: str) -> Callable[..., Any]:
        def handler(params: dict[str, str], a: StubAccount) -> list[dict[str, Any]]:
            symbol = self._market(kind, params).symbol if "symbol" in params else None
            return [
                self._order_json(o, "FULL_QUERY")
                for o in a.orders
                if o.market_type == kind and o.is_open and symbol in (None, o.symbol)
            ]

        return handler

    def _all_orders(self, kind: str) -> Callable[..., Any]:
        def handler(params: dict[str, str], a: StubAccount) -> list[dict[str, Any]]:
            symbol = self._market(kind, params).symbol
            rows = [o for o in a.orders if o.market_type == kind and o.symbol == symbol]
            limit = _int(params, "limit") if "limit" in params else 500
            return [self._order_json(o, "FULL_QUERY") for o in rows[-limit:]]

        return handler

    def _my_trades(self, kind: str) -> Callable[..., Any]:
        """myTrades / userTrades with Binance's orderId, fromId, startTime, endTime and limit."""

        def handler(params: dict[str, str], a: StubAccount) -> list[dict[str, Any]]:
            symbol = self._market(kind, params).symbol
            order_id = _int(params, "orderId") if "orderId" in params else None
            from_id = _int(params, "fromId") if "fromId" in params else None
            start = _int(params, "startTime") if "startTime" in params else None
            end = _int(params, "endTime") if "endTime" in params else None
            limit = _int(params, "limit") if "limit" in params else 500
            if limit < 1 or limit > 1000:
                raise BinanceError(-1100, "Illegal characters found in parameter 'limit'.")
            if start is not None and end is not None and start > end:
                raise BinanceError(-1023, "Start time is greater than end time.")
            trades = []
            for o in a.orders:
                if o.market_type != kind or o.symbol != symbol:
                    continue
                if order_id is not None and o.order_id != order_id:
                    continue
                for fill in o.fills:
                    if (
                        (from_id is not None and fill["tradeId"] < from_id)
                        or (start is not None and fill["time"] < start)
                        or (end is not None and fill["time"] > end)
                    ):
                        continue
                    price, qty = fill["price"], fill["qty"]
                    row = {
                        "symbol": o.symbol,
                        "id": fill["tradeId"],
                        "orderId": o.order_id,
                        "price": price,
                        "qty": qty,
                        "commission": fill["commission"],
                        "commissionAsset": fill["commissionAsset"],
                        "time": fill["time"],
                        "isMaker": fill["maker"],
                    }
                    quote = _s8(_d(price) * _d(qty))
                    if kind == SPOT:
                        row.update(
                            orderListId=-1,
                            quoteQty=quote,
                            isBuyer=o.side == "BUY",
                            isBestMatch=True,
                        )
                    else:
                        row.update(
                            side=o.side,
                            positionSide="BOTH",
                            buyer=o.side == "BUY",
                            maker=fill["maker"],
                            quoteQty=quote,
                            realizedPnl=fill.get("realizedPnl", "0"),
                        )
                    trades.append(row)
            trades.sort(key=lambda t: t["id"])
            # From a fromId or startTime Binance pages forward, otherwise it returns the latest.
            return trades[:limit] if from_id is not None or start is not None else trades[-limit:]

        return handler

    def _order_json(self, o: StubOrder, resp_type: str) -> dict[str, Any]:
        spec = self.markets[o.market_type][o.symbol]
        if o.market_type == SPOT:
            base: dict[str, Any] = {
                "symbol": o.symbol,
                "orderId": o.order_id,
                "orderListId": -1,
                "clientOrderId": o.client_order_id,
            }
            if resp_type == "ACK":
                return {**base, "transactTime": o.time}
            base.update(
                price=_s8(o.price),
                origQty=_s8(o.orig_qty),
                executedQty=_s8(o.executed_qty),
                cummulativeQuoteQty=_s8(o.cum_quote),
                status=o.status,
                timeInForce=o.time_in_force,
                type=o.type,
                side=o.side,
                workingTime=o.time,
                selfTradePreventionMode="EXPIRE_MAKER",
                origQuoteOrderQty=_s8(o.orig_quote_qty),
            )
            if resp_type == "FULL_QUERY":
                base.update(
                    stopPrice=_s8(_ZERO),
                    icebergQty=_s8(_ZERO),
                    time=o.time,
                    updateTime=o.update_time,
                    isWorking=True,
                )
                return base
            base["transactTime"] = o.update_time
            if resp_type == "FULL":
                base["fills"] = [
                    {k: f[k] for k in ("price", "qty", "commission", "commissionAsset", "tradeId")}
                    for f in o.fills
                ]
            return base
        ack = resp_type == "ACK"
        payload = {
            "orderId": o.order_id,
            "symbol": o.symbol,
            "status": "NEW" if ack else o.status,
            "clientOrderId": o.client_order_id,
            "price": _fmt(o.price, spec.tick_size),
            "avgPrice": _fmt(_ZERO if ack else o.avg_price, Decimal("0.00001")),
            "origQty": _fmt(o.orig_qty, spec.step_size),
            "executedQty": _fmt(_ZERO if ack else o.executed_qty, spec.step_size),
            "cumQty": _fmt(_ZERO if ack else o.executed_qty, spec.step_size),
            "cumQuote": _s8(_ZERO if ack else o.cum_quote),
            "timeInForce": o.time_in_force,
            "type": o.type,
            "reduceOnly": o.reduce_only,
            "closePosition": False,
            "side": o.side,
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": o.type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "updateTime": o.update_time,
        }
        if resp_type == "FULL_QUERY":
            payload["time"] = o.time
        return payload

    def _new_order(
        self,
        kind: str,
        spec: MarketSpec,
        p: dict[str, str],
        a: StubAccount,
        duplicate: BinanceError,
    ) -> StubOrder:
        side = p.get("side")
        if not side:
            raise _missing("side")
        if side not in ("BUY", "SELL"):
            raise BinanceError(-1117, "Invalid side.")
        order_type = p.get("type")
        if not order_type:
            raise _missing("type")
        supported = ("MARKET", "LIMIT", "LIMIT_MAKER") if kind == SPOT else ("MARKET", "LIMIT")
        if order_type not in supported:
            log.warning("binance_stub: order type %s is not implemented", order_type)
            raise BinanceError(-1116, "Invalid orderType.")
        client_id = p.get("newClientOrderId") or _client_id()
        if client_id in a.client_order_ids[kind]:
            raise duplicate
        tif = p.get("timeInForce", "GTC")
        if order_type == "LIMIT" and "timeInForce" not in p:
            raise _missing("timeInForce")
        price = _ZERO
        if order_type != "MARKET":
            if "price" not in p:
                raise _missing("price")
            price = _number(p, "price")
        now = self._now()
        return StubOrder(
            kind,
            spec.symbol,
            next(self._order_ids),
            client_id,
            side,
            order_type,
            tif,
            price,
            _ZERO,
            time=now,
            update_time=now,
        )

    # ------------------------------------------------------------------ scripted orders

    def _scripted(
        self, place: Callable[[dict[str, str], StubAccount, OrderOutcome | None], Any]
    ) -> Callable[[dict[str, str], StubAccount], Any]:
        """Wrap a new-order handler so each request takes the next scripted outcome."""

        def handler(p: dict[str, str], a: StubAccount) -> Any:
            outcome = self._script.popleft() if self._script else None
            if outcome is None:
                return place(p, a, None)
            answer: Any
            if not outcome.execute:
                assert outcome.error is not None
                answer = BinanceError(*outcome.error)
            else:
                try:
                    answer = place(p, a, outcome)
                except BinanceError as exc:
                    answer = exc
            if outcome.hold_seconds:
                return _Held(answer, outcome.hold_seconds)
            if isinstance(answer, BinanceError):
                raise answer
            return answer

        return handler

    def _plan(
        self, outcome: OrderOutcome | None, spec: MarketSpec, qty: Decimal, last: Decimal
    ) -> list[tuple[Decimal, Decimal]]:
        """The (quantity, price) fills an order that executes on arrival gets."""
        if outcome is None:
            return [(qty, last)]
        plan, done = [], _ZERO
        for i, (fraction, price) in enumerate(outcome.fills):
            if outcome.ends == "FILLED" and i == len(outcome.fills) - 1:
                part = qty - done  # the last fill takes what rounding left
            else:
                part = min((qty * fraction) // spec.step_size * spec.step_size, qty - done)
            if part > 0:
                plan.append((part, last if price is None else price))
                done += part
        return plan

    def _finish(
        self, a: StubAccount, o: StubOrder, outcome: OrderOutcome | None, reference: Decimal
    ) -> None:
        """After the planned fills: expire the order, or hold it open (locking spot funds)."""
        if outcome is None or outcome.ends == "FILLED" or not o.is_open:
            return
        if outcome.ends == "EXPIRED":
            self._expire(a, o)
            return
        o.held = True
        if o.market_type == SPOT:
            spec = self.markets[SPOT][o.symbol]
            remaining = o.orig_qty - o.executed_qty
            asset, amount = (
                (spec.quote, remaining * (o.price or reference))
                if o.side == "BUY"
                else (spec.base, remaining)
            )
            a.spot_free[asset] -= amount
            a.spot_locked[asset] = a.spot_locked.get(asset, _ZERO) + amount
            o.locked = amount

    def _expire(self, a: StubAccount, o: StubOrder) -> None:
        self._release(o, a)
        o.status, o.update_time, o.held = "EXPIRED", self._now(), False

    # ------------------------------------------------------------------ spot orders

    def _spot_new_order(
        self, p: dict[str, str], a: StubAccount, outcome: OrderOutcome | None = None
    ) -> dict[str, Any]:
        spec = self._market(SPOT, p)
        duplicate = BinanceError(-2010, "Duplicate order sent.")
        order = self._new_order(SPOT, spec, p, a, duplicate)
        last = self._last(SPOT, spec.symbol)
        if order.type == "MARKET":
            if "quantity" in p:
                order.orig_qty = _number(p, "quantity")
            elif "quoteOrderQty" in p:
                order.orig_quote_qty = _number(p, "quoteOrderQty")
                order.orig_qty = (order.orig_quote_qty / last).quantize(
                    spec.step_size, rounding=ROUND_DOWN
                )
            else:
                raise BinanceError(
                    -1102,
                    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                )
        else:
            if "quantity" not in p:
                raise _missing("quantity")
            order.orig_qty = _number(p, "quantity")
            _check_price_filter(spec, order.price, "Filter failure: PRICE_FILTER")
        qty = order.orig_qty
        if qty < spec.min_qty or qty > spec.max_qty or (qty - spec.min_qty) % spec.step_size:
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        if order.type == "MARKET" and qty > spec.market_max_qty:
            raise BinanceError(-1013, "Filter failure: MARKET_LOT_SIZE")
        crosses = order.type == "MARKET" or (
            order.price >= last if order.side == "BUY" else order.price <= last
        )
        reference = last if crosses else order.price
        if qty * reference < spec.min_notional:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")
        if order.type == "LIMIT_MAKER" and crosses:
            raise BinanceError(-2010, "Order would immediately match and take.")
        plan = self._plan(outcome, spec, qty, last) if crosses else []
        if order.side == "BUY":
            need_asset, need = spec.quote, qty * reference
            planned = sum((q * price for q, price in plan), _ZERO)
            if outcome is not None and outcome.ends == "OPEN":
                planned += (qty - sum((q for q, _ in plan), _ZERO)) * reference
            need = max(need, planned)
        else:
            need_asset, need = spec.base, qty
        if (self._spot_commission_asset, order.side) in (("quote", "BUY"), ("base", "SELL")):
            need += need * self.spot_fee_rate  # the commission comes out of the spent asset
        if a.spot_free.get(need_asset, _ZERO) < need:
            raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        a.client_order_ids[SPOT].add(order.client_order_id)
        a.orders.append(order)
        if crosses:
            for part, price in plan:
                self._fill_spot(a, spec, order, price, maker=False, qty=part)
            self._finish(a, order, outcome, last)
        elif order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
        else:
            a.spot_free[need_asset] -= need
            a.spot_locked[need_asset] = a.spot_locked.get(need_asset, _ZERO) + need
            order.locked = need
        default_resp = "FULL" if order.type in ("MARKET", "LIMIT") else "ACK"
        return self._order_json(order, p.get("newOrderRespType", default_resp))

    def _fill_spot(
        self,
        a: StubAccount,
        spec: MarketSpec,
        o: StubOrder,
        price: Decimal,
        *,
        maker: bool,
        qty: Decimal | None = None,
    ) -> None:
        """Fill ``qty`` of an order (default: all that is left) at ``price``.

        Funds the order locked while resting are released pro rata, then the fill pays from
        the free balance; the commission goes where ``spot_commission_asset`` says.
        """
        remaining = o.orig_qty - o.executed_qty
        qty = remaining if qty is None else qty
        quote = (qty * price).quantize(_E8)
        buy = o.side == "BUY"
        spent_asset, spent = (spec.quote, quote) if buy else (spec.base, qty)
        got_asset, got = (spec.base, qty) if buy else (spec.quote, quote)
        if o.locked:
            release = o.locked if qty >= remaining else (o.locked * qty / remaining).quantize(_E8)
            o.locked -= release
            a.spot_locked[spent_asset] -= release
            a.spot_free[spent_asset] = a.spot_free.get(spent_asset, _ZERO) + release
        a.spot_free[spent_asset] -= spent
        a.spot_free[got_asset] = a.spot_free.get(got_asset, _ZERO) + got
        commission, fee_asset = self._spot_commission(a, spec, buy, qty, quote)
        a.spot_free[fee_asset] = a.spot_free.get(fee_asset, _ZERO) - commission
        for asset in (spec.base, spec.quote, fee_asset):
            a.spot_locked.setdefault(asset, _ZERO)
        self._record_fill(o, price, qty, quote, commission, fee_asset, maker)

    def _spot_commission(
        self, a: StubAccount, spec: MarketSpec, buy: bool, qty: Decimal, quote: Decimal
    ) -> tuple[Decimal, str]:
        mode = self._spot_commission_asset
        if mode == "BNB":
            fee = quote * self.spot_fee_rate * (_ONE - self.spot_bnb_discount)
            if spec.quote != "BNB":
                pair = f"BNB{spec.quote}"
                fee /= self._last(SPOT, pair if pair in self.markets[SPOT] else "BNBUSDT")
            fee = fee.quantize(_E8)
            if a.spot_free.get("BNB", _ZERO) >= fee:
                return fee, "BNB"
            mode = None  # short of BNB, Binance charges the usual asset
        in_base = buy if mode is None else mode == "base"
        if in_base:
            return (qty * self.spot_fee_rate).quantize(_E8), spec.base
        return (quote * self.spot_fee_rate).quantize(_E8), spec.quote

    def _record_fill(
        self,
        o: StubOrder,
        price: Decimal,
        qty: Decimal,
        quote: Decimal,
        commission: Decimal,
        fee_asset: str,
        maker: bool,
        realized: Decimal = _ZERO,
    ) -> None:
        o.executed_qty += qty
        o.cum_quote += quote
        o.status = "FILLED" if o.executed_qty >= o.orig_qty else "PARTIALLY_FILLED"
        o.update_time = self._now()
        o.fills.append(
            {
                "price": _s8(price),
                "qty": _s8(qty),
                "commission": _s8(commission),
                "commissionAsset": fee_asset,
                "tradeId": next(self._trade_ids),
                "time": o.update_time,
                "maker": maker,
                "realizedPnl": _s8(realized),
            }
        )
        ticker = self._tickers[(o.market_type, o.symbol)]
        ticker.volume += qty
        ticker.quote_volume += quote
        ticker.count += 1

    def _release(self, o: StubOrder, a: StubAccount) -> None:
        if o.market_type != SPOT or not o.locked:
            return  # futures open-order margin is derived from the open orders themselves
        spec = self.markets[SPOT][o.symbol]
        asset = spec.quote if o.side == "BUY" else spec.base
        a.spot_locked[asset] -= o.locked
        a.spot_free[asset] = a.spot_free.get(asset, _ZERO) + o.locked
        o.locked = _ZERO

    def _fill_crossed_orders(self, kind: str, symbol: str, price: Decimal) -> None:
        for a in self._accounts.values():
            for o in a.orders:
                if o.market_type != kind or o.symbol != symbol or not o.is_open:
                    continue
                if o.type == "MARKET" or o.held:
                    continue  # scripted to rest: complete_order / expire_order end it
                if (o.side == "BUY" and price <= o.price) or (
                    o.side == "SELL" and price >= o.price
                ):
                    spec = self.markets[kind][symbol]
                    if kind == SPOT:
                        self._fill_spot(a, spec, o, o.price, maker=True)
                    else:
                        self._fill_futures(a, spec, o, o.price, maker=True)

    # ------------------------------------------------------------------ futures

    def _futures_new_order(
        self, p: dict[str, str], a: StubAccount, outcome: OrderOutcome | None = None
    ) -> dict[str, Any]:
        spec = self._market(FUTURES, p)
        duplicate = BinanceError(-4116, "ClientOrderId is duplicated.")
        order = self._new_order(FUTURES, spec, p, a, duplicate)
        position_side = p.get("positionSide", "BOTH")
        if (position_side in ("LONG", "SHORT")) != a.dual_side_position:
            raise BinanceError(-4061, "Order's position side does not match user's setting.")
        if a.dual_side_position:
            log.warning("binance_stub: hedge-mode (LONG/SHORT) positions are not implemented")
            raise BinanceError(-1, "binance_stub: hedge-mode positions are not implemented")
        if "quantity" not in p:
            raise _missing("quantity")
        qty = _number(p, "quantity")
        if qty <= 0:
            raise BinanceError(-4003, "Quantity less than or equal to zero.")
        precision_error = BinanceError(
            -1111, "Precision is over the maximum defined for this asset."
        )
        if _decimals(qty) > _decimals(spec.step_size):
            raise precision_error
        max_qty = spec.market_max_qty if order.type == "MARKET" else spec.max_qty
        if qty < spec.min_qty:
            raise BinanceError(-4004, "Quantity less than min quantity.")
        if qty > max_qty:
            raise BinanceError(-4005, "Quantity greater than max quantity.")
        if (qty - spec.min_qty) % spec.step_size:
            raise BinanceError(-4023, "Qty not increased by step size.")
        if order.type == "LIMIT":
            if _decimals(order.price) > _decimals(spec.tick_size):
                raise precision_error
            if order.price < spec.min_price:
                raise BinanceError(-4013, "Price less than min price.")
            if order.price > spec.max_price:
                raise BinanceError(-4016, f"Limit price can't be higher than {spec.max_price}.")
            if (order.price - spec.min_price) % spec.tick_size:
                raise BinanceError(-4014, "Price not increased by tick size.")
        order.orig_qty = qty
        order.reduce_only = p.get("reduceOnly", "false").lower() == "true"
        last = self._last(FUTURES, spec.symbol)
        crosses = order.type == "MARKET" or (
            order.price >= last if order.side == "BUY" else order.price <= last
        )
        reference = last if crosses else order.price
        position = a.positions.get(spec.symbol, StubPosition())
        signed = qty if order.side == "BUY" else -qty
        if order.reduce_only:
            if position.amount == 0 or (position.amount > 0) == (signed > 0):
                raise BinanceError(-2022, "ReduceOnly Order is rejected.")
            order.orig_qty = qty = min(qty, abs(position.amount))
        elif qty * reference < spec.min_notional:
            raise BinanceError(
                -4164,
                f"Order's notional must be no smaller than {_plain(spec.min_notional)}"
                " (unless you choose reduce only).",
            )
        if order.time_in_force == "GTX" and crosses and order.type == "LIMIT":
            raise BinanceError(
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be"
                " rejected.",
            )
        leverage = a.leverage.get(spec.symbol, self.default_leverage)
        resulting = abs(position.amount + signed) * reference
        if resulting > abs(position.amount) * reference and resulting > _max_notional(
            spec, leverage
        ):
            raise BinanceError(
                -2027, "Exceeded the maximum allowable position at current leverage."
            )
        opening = (
            qty
            if position.amount == 0 or (position.amount > 0) == (signed > 0)
            else max(_ZERO, qty - abs(position.amount))
        )
        required = opening * reference / leverage + qty * reference * self.futures_fee_rate
        if required > self._futures_available(a):
            raise BinanceError(-2019, "Margin is insufficient.")
        a.client_order_ids[FUTURES].add(order.client_order_id)
        a.orders.append(order)
        if crosses:
            for part, price in self._plan(outcome, spec, qty, last):
                self._fill_futures(a, spec, order, price, maker=False, qty=part)
            self._finish(a, order, outcome, last)
        elif order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
        return self._order_json(order, p.get("newOrderRespType", "ACK"))

    def _fill_futures(
        self,
        a: StubAccount,
        spec: MarketSpec,
        o: StubOrder,
        price: Decimal,
        *,
        maker: bool,
        qty: Decimal | None = None,
    ) -> None:
        """Fill ``qty`` of an order (default: all that is left, which ends it) at ``price``."""
        fill_all = qty is None
        qty = o.orig_qty - o.executed_qty if qty is None else qty
        position = a.positions.setdefault(spec.symbol, StubPosition())
        if o.reduce_only:
            qty = min(qty, abs(position.amount))
        signed = qty if o.side == "BUY" else -qty
        realized = _ZERO
        if position.amount == 0 or (position.amount > 0) == (signed > 0):
            total = abs(position.amount) + qty
            position.entry_price = (
                abs(position.amount) * position.entry_price + qty * price
            ) / total
        else:
            closed = min(abs(position.amount), qty)
            direction = 1 if position.amount > 0 else -1
            realized = closed * (price - position.entry_price) * direction
            if qty > abs(position.amount):
                position.entry_price = price
        position.amount += signed
        if position.amount == 0:
            position.entry_price = _ZERO
        position.update_time = self._now()
        quote = qty * price
        commission = (quote * self.futures_fee_rate).quantize(_E8)
        asset = spec.quote
        a.futures_wallet[asset] = a.futures_wallet.get(asset, _ZERO) + realized - commission
        a.futures_updated[asset] = self._now()
        self._record_fill(o, price, qty, quote, commission, asset, maker, realized)
        if fill_all:
            o.status = "FILLED"  # a reduce-only remainder beyond the position is dropped

    def _position_numbers(self, a: StubAccount, symbol: str) -> dict[str, Decimal]:
        spec = self.markets[FUTURES][symbol]
        position = a.positions.get(symbol, StubPosition())
        mark = self._last(FUTURES, symbol)
        leverage = a.leverage.get(symbol, self.default_leverage)
        notional = position.amount * mark
        bracket = _bracket_for(spec, abs(notional))
        open_orders = [
            o for o in a.orders if o.market_type == FUTURES and o.symbol == symbol and o.is_open
        ]
        return {
            "amount": position.amount,
            "entry": position.entry_price,
            "mark": mark,
            "notional": notional,
            "upnl": position.amount * (mark - position.entry_price),
            "position_im": abs(notional) / leverage,
            "order_im": sum(
                ((o.orig_qty - o.executed_qty) * (o.price or mark) / leverage for o in open_orders),
                _ZERO,
            ),
            "maint": abs(notional) * (bracket.maint_margin_ratio if bracket else _ZERO),
            "leverage": Decimal(leverage),
        }

    def _futures_totals(self, a: StubAccount) -> dict[str, Decimal]:
        totals = dict.fromkeys(("upnl", "position_im", "order_im", "maint"), _ZERO)
        for symbol in self.markets[FUTURES]:
            numbers = self._position_numbers(a, symbol)
            for key in totals:
                totals[key] += numbers[key]
        return totals

    def _futures_available(self, a: StubAccount) -> Decimal:
        t = self._futures_totals(a)
        wallet = a.futures_wallet.get("USDT", _ZERO)
        return max(_ZERO, wallet + t["upnl"] - t["position_im"] - t["order_im"])

    def _futures_account(self, *, v2: bool) -> Callable[..., Any]:
        def handler(params: dict[str, str], a: StubAccount) -> dict[str, Any]:
            t = self._futures_totals(a)
            available = self._futures_available(a)
            assets = []
            for asset in sorted(set(a.futures_wallet) | {"USDT", "BNB", "USDC"}):
                wallet = a.futures_wallet.get(asset, _ZERO)
                usdt = asset == "USDT"
                upnl, im = (t["upnl"], t["position_im"] + t["order_im"]) if usdt else (_ZERO, _ZERO)
                assets.append(
                    {
                        "asset": asset,
                        "walletBalance": _s8(wallet),
                        "unrealizedProfit": _s8(upnl),
                        "marginBalance": _s8(wallet + upnl),
                        "maintMargin": _s8(t["maint"] if usdt else _ZERO),
                        "initialMargin": _s8(im),
                        "positionInitialMargin": _s8(t["position_im"] if usdt else _ZERO),
                        "openOrderInitialMargin": _s8(t["order_im"] if usdt else _ZERO),
                        "crossWalletBalance": _s8(wallet),
                        "crossUnPnl": _s8(upnl),
                        "availableBalance": _s8(available if usdt else wallet),
                        "maxWithdrawAmount": _s8(available if usdt else wallet),
                        "marginAvailable": True,
                        "updateTime": a.futures_updated.get(asset, 0),
                    }
                )
            wallet = a.futures_wallet.get("USDT", _ZERO)
            positions = []
            for symbol in self.markets[FUTURES]:
                n = self._position_numbers(a, symbol)
                if not v2 and not n["amount"] and not n["order_im"]:
                    continue
                isolated = a.margin_type.get(symbol) == "ISOLATED"
                isolated_wallet, isolated_margin = _isolated(n, isolated)
                row = {
                    "symbol": symbol,
                    "positionSide": "BOTH",
                    "positionAmt": _plain(n["amount"]),
                    "unrealizedProfit": _s8(n["upnl"]),
                    "isolatedMargin": isolated_margin,
                    "notional": _s8(n["notional"]),
                    "isolatedWallet": isolated_wallet,
                    "initialMargin": _s8(n["position_im"] + n["order_im"]),
                    "maintMargin": _s8(n["maint"]),
                    "updateTime": a.positions.get(symbol, StubPosition()).update_time,
                }
                if v2:
                    row.update(
                        leverage=str(int(n["leverage"])),
                        isolated=isolated,
                        entryPrice=_plain(n["entry"]),
                    )
                positions.append(row)
            return {
                "totalInitialMargin": _s8(t["position_im"] + t["order_im"]),
                "totalMaintMargin": _s8(t["maint"]),
                "totalWalletBalance": _s8(wallet),
                "totalUnrealizedProfit": _s8(t["upnl"]),
                "totalMarginBalance": _s8(wallet + t["upnl"]),
                "totalPositionInitialMargin": _s8(t["position_im"]),
                "totalOpenOrderInitialMargin": _s8(t["order_im"]),
                "totalCrossWalletBalance": _s8(wallet),
                "totalCrossUnPnl": _s8(t["upnl"]),
                "availableBalance": _s8(available),
                "maxWithdrawAmount": _s8(available),
                "assets": assets,
                "positions": positions,
            }

        return handler

    def _position_risk(self, *, v2: bool) -> Callable[..., Any]:
        def handler(params: dict[str, str], a: StubAccount) -> list[dict[str, Any]]:
            symbols = (
                [self._market(FUTURES, params).symbol]
                if "symbol" in params
                else list(self.markets[FUTURES])
            )
            rows = []
            for symbol in symbols:
                n = self._position_numbers(a, symbol)
                if not v2 and not n["amount"]:
                    continue  # v3 lists only symbols with a position
                isolated = a.margin_type.get(symbol) == "ISOLATED"
                isolated_wallet, isolated_margin = _isolated(n, isolated)
                row = {
                    "symbol": symbol,
                    "positionSide": "BOTH",
                    "positionAmt": _plain(n["amount"]),
                    "entryPrice": _plain(n["entry"]),
                    "breakEvenPrice": _plain(n["entry"]),
                    "markPrice": _s8(n["mark"]),
                    "unRealizedProfit": _s8(n["upnl"]),
                    "liquidationPrice": "0",
                    "isolatedMargin": isolated_margin,
                    "notional": _s8(n["notional"]),
                    "marginAsset": "USDT",
                    "isolatedWallet": isolated_wallet,
                    "initialMargin": _s8(n["position_im"] + n["order_im"]),
                    "maintMargin": _s8(n["maint"]),
                    "positionInitialMargin": _s8(n["position_im"]),
                    "openOrderInitialMargin": _s8(n["order_im"]),
                    "adl": 0,
                    "bidNotional": "0",
                    "askNotional": "0",
                    "updateTime": a.positions.get(symbol, StubPosition()).update_time,
                }
                if v2:  # v2 still carries leverage and margin type; v3 dropped them
                    spec = self.markets[FUTURES][symbol]
                    row.update(
                        leverage=str(int(n["leverage"])),
                        marginType="isolated" if isolated else "cross",
                        isAutoAddMargin="false",
                        maxNotionalValue=_plain(_max_notional(spec, int(n["leverage"]))),
                    )
                rows.append(row)
            return rows

        return handler

    def _leverage_bracket(self, params: dict[str, str], a: StubAccount) -> Any:
        rows = [
            {
                "symbol": m.symbol,
                "notionalCoef": 1.0,
                "brackets": [
                    {
                        "bracket": i + 1,
                        "initialLeverage": b.initial_leverage,
                        "notionalCap": int(b.notional_cap),
                        "notionalFloor": int(b.notional_floor),
                        "maintMarginRatio": float(b.maint_margin_ratio),
                        "cum": float(_cum(m, i)),
                    }
                    for i, b in enumerate(m.brackets)
                ],
            }
            for m in self._selected(FUTURES, params)
        ]
        return rows[0] if "symbol" in params else rows

    def _set_leverage(self, params: dict[str, str], a: StubAccount) -> dict[str, Any]:
        spec = self._market(FUTURES, params)
        if "leverage" not in params:
            raise _missing("leverage")
        leverage = _int(params, "leverage")
        notional = abs(self._position_numbers(a, spec.symbol)["notional"])
        if leverage < 1 or leverage > spec.max_leverage or notional > _max_notional(spec, leverage):
            raise BinanceError(-4028, f"Leverage {leverage} is not valid")
        a.leverage[spec.symbol] = leverage
        return {
            "leverage": leverage,
            "maxNotionalValue": _plain(_max_notional(spec, leverage)),
            "symbol": spec.symbol,
        }

    def _set_margin_type(self, params: dict[str, str], a: StubAccount) -> dict[str, Any]:
        spec = self._market(FUTURES, params)
        margin_type = params.get("marginType")
        if not margin_type:
            raise _missing("marginType")
        if margin_type not in ("ISOLATED", "CROSSED"):
            raise BinanceError(-1116, "Invalid marginType.")  # pragma: no cover - ccxt checks
        if a.margin_type.get(spec.symbol, "CROSSED") == margin_type:
            raise BinanceError(-4046, "No need to change margin type.")
        if any(
            o.market_type == FUTURES and o.symbol == spec.symbol and o.is_open for o in a.orders
        ):
            raise BinanceError(-4047, "Margin type cannot be changed if there exists open orders.")
        if a.positions.get(spec.symbol, StubPosition()).amount:
            raise BinanceError(-4048, "Margin type cannot be changed if there exists position.")
        a.margin_type[spec.symbol] = margin_type
        return {"code": 200, "msg": "success"}

    def _set_position_side_dual(self, params: dict[str, str], a: StubAccount) -> dict[str, Any]:
        raw = params.get("dualSidePosition")
        if not raw:
            raise _missing("dualSidePosition")
        dual = raw.lower() == "true"
        if dual == a.dual_side_position:
            raise BinanceError(-4059, "No need to change position side.")
        if any(o.market_type == FUTURES and o.is_open for o in a.orders):
            raise BinanceError(
                -4067, "Position side cannot be changed if there exists open orders."
            )
        if any(position.amount for position in a.positions.values()):
            raise BinanceError(-4068, "Position side cannot be changed if there exists position.")
        a.dual_side_position = dual
        return {"code": 200, "msg": "success"}

    def _symbol_config(self, params: dict[str, str], a: StubAccount) -> list[dict[str, Any]]:
        return [
            {
                "symbol": m.symbol,
                "marginType": a.margin_type.get(m.symbol, "CROSSED"),
                "isAutoAddMargin": "false",
                "leverage": a.leverage.get(m.symbol, self.default_leverage),
                "maxNotionalValue": _plain(
                    _max_notional(m, a.leverage.get(m.symbol, self.default_leverage))
                ),
            }
            for m in self._selected(FUTURES, params)
        ]


# --------------------------------------------------------------------------- helpers

_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
]


def _without_signature(raw: str) -> str:
    return "&".join(part for part in raw.split("&") if part and not part.startswith("signature="))


def _int(params: Mapping[str, str], name: str) -> int:
    try:
        return int(params[name])
    except (KeyError, ValueError):
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None


def _number(params: Mapping[str, str], name: str) -> Decimal:
    raw = params.get(name, "")
    if not _NUMBER.match(raw):
        raise BinanceError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is "
            "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        )
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the regex already guards this
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None


def _check_price_filter(spec: MarketSpec, price: Decimal, message: str) -> None:
    if (
        price < spec.min_price
        or price > spec.max_price
        or (price - spec.min_price) % spec.tick_size
    ):
        raise BinanceError(-1013, message)


def _client_id() -> str:
    return secrets.token_urlsafe(16)[:22]


def _bracket_for(spec: MarketSpec, notional: Decimal) -> Bracket | None:
    chosen = None
    for bracket in spec.brackets:
        if notional >= bracket.notional_floor:
            chosen = bracket
    return chosen


def _cum(spec: MarketSpec, index: int) -> Decimal:
    cum = _ZERO
    for i in range(1, index + 1):
        b, prev = spec.brackets[i], spec.brackets[i - 1]
        cum += b.notional_floor * (b.maint_margin_ratio - prev.maint_margin_ratio)
    return cum


def _isolated(n: Mapping[str, Decimal], isolated: bool) -> tuple[str, str]:
    """(isolatedWallet, isolatedMargin): the position's initial margin at entry, plus its
    unrealised PnL; "0" under cross margin."""
    if not isolated or not n["amount"]:
        return "0", "0"
    wallet = abs(n["amount"]) * n["entry"] / n["leverage"]
    return _s8(wallet), _s8(wallet + n["upnl"])


def _max_notional(spec: MarketSpec, leverage: int) -> Decimal:
    allowed = [b.notional_cap for b in spec.brackets if b.initial_leverage >= leverage]
    return max(allowed) if allowed else _ZERO


def _kline(row: tuple[Any, ...], duration: int) -> list[Any]:
    open_time, o, h, low, c, v = row[:6]
    volume = _d(v)
    return [
        int(open_time),
        _s8(_d(o)),
        _s8(_d(h)),
        _s8(_d(low)),
        _s8(_d(c)),
        _s8(volume),
        int(open_time) + duration - 1,
        _s8(volume * _d(c)),
        0,
        _s8(_ZERO),
        _s8(_ZERO),
        "0",
    ]
