"""Binance spot (`binance`) and USD-M futures (`binanceusdm`) through async ccxt."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import ccxt.async_support as ccxt

from adapters.exchange.ccxt_errors import below_minimum, is_duplicate_order, translate
from adapters.metrics.counters import count_order_sent
from domain.errors import DomainError
from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import AccountBalance, Wallet
from domain.exchange.errors import ExchangeUnavailable, UnknownSymbol
from domain.exchange.fill import OrderFill
from domain.exchange.market import Market, MarketType
from domain.exchange.order import Order, OrderRequest, OrderSide, OrderStatus, OrderType
from domain.exchange.position import ExchangePosition, PositionSide
from domain.exchange.ticker import Ticker
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.exchange_gateway import ExchangeGateway

T = TypeVar("T")
log = logging.getLogger(__name__)


class _NoWireDumps(logging.Filter):
    """ccxt logs each request at DEBUG with its headers, X-MBX-APIKEY (the user's key in
    plain text) among them, and each response with its body: those never reach a handler,
    whatever the log level. Its warnings still do."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_CCXT_LOGGER = logging.getLogger("tradebot.exchange.ccxt")
_CCXT_LOGGER.addFilter(_NoWireDumps())

_CCXT_CLASS = {MarketType.SPOT: "binance", MarketType.FUTURES: "binanceusdm"}
_OPTIONS: dict[MarketType, dict[str, Any]] = {
    # Spot markets only, and none of the sapi margin/currency calls load_markets would add.
    MarketType.SPOT: {
        "defaultType": "spot",
        "fetchCurrencies": False,
        "fetchMargins": False,
        "fetchMarkets": {"types": ["spot"]},
        "fetchOpenOrders": {"warnWithoutSymbol": False},
    },
    MarketType.FUTURES: {
        "defaultType": "future",
        "fetchCurrencies": False,
        "fetchMarkets": {"types": ["linear"]},
        "fetchOpenOrders": {"warnWithoutSymbol": False},
    },
}
# ccxt 4.5 reads "future" as an isolated-margin account; "swap" is the USD-M wallet.
_WALLET_ACCOUNT = {Wallet.SPOT: "spot", Wallet.FUTURES: "swap"}
# ccxt chooses its error table by API host; behind a redirected base URL only the path
# is left to tell spot from futures.
_ERROR_TABLE_BY_PATH = (
    ("/fapi/", "linear"),
    ("/futures/data", "linear"),
    ("/dapi/", "inverse"),
    ("/eapi/", "option"),
    ("/papi/", "portfolioMargin"),
    ("/api/", "spot"),
    ("/sapi/", "spot"),
)
# Anything else ("canceling", or a status ccxt does not know) is not final: asked again.
_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
# Used when the exchange does not report a symbol's leverage limit.
DEFAULT_MAX_LEVERAGE = 125


@dataclass(frozen=True, slots=True)
class CcxtSettings:
    base_url: str | None = None
    sandbox: bool = False
    timeout_seconds: float = 10.0
    markets_ttl_seconds: float = 900.0
    read_attempts: int = 3
    retry_backoff_seconds: float = 0.5


@dataclass
class _MarketCache:
    loaded_at: float
    markets: dict[str, Market]
    ccxt_symbols: dict[str, str]
    raw: list[dict[str, Any]]


def redirect(client: Any, base_url: str) -> None:
    """Send every REST call of the client to `base_url`, keeping ccxt's error mapping."""
    client.urls["api"] = redirect_urls(client.urls["api"], base_url)

    def exceptions_by_path(url: str | None, exact_or_broad: str) -> dict[str, Any]:
        path = urlsplit(url or "").path
        for prefix, table_name in _ERROR_TABLE_BY_PATH:
            if path.startswith(prefix):
                table: dict[str, Any] = client.exceptions.get(table_name) or {}
                return table.get(exact_or_broad) or {}
        return {}

    client.get_exceptions_by_url = exceptions_by_path


def redirect_urls(urls: Any, base_url: str) -> Any:
    """Every URL in ccxt's `urls["api"]` tree with its scheme and host replaced."""
    if isinstance(urls, dict):
        return {key: redirect_urls(value, base_url) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        target = urlsplit(base_url)
        parts = urlsplit(urls)
        return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))
    return urls


class CcxtExchangeGateway(ExchangeGateway):
    """One public client per market type, one private client per user and market type
    (kept while the user's key is unchanged), and markets cached with a TTL and shared
    by all of them. Reads retry with backoff on network errors; orders are never
    retried blindly: an uncertain outcome is resolved by the client order id."""

    def __init__(self, settings: CcxtSettings) -> None:
        self._settings = settings
        self._public: dict[MarketType, Any] = {}
        self._private: dict[tuple[MarketType, int], tuple[str, Any]] = {}
        self._markets: dict[MarketType, _MarketCache] = {}
        self._market_locks = {market_type: asyncio.Lock() for market_type in MarketType}

    # -- clients ---------------------------------------------------------------------

    def _new_client(self, market_type: MarketType, account: ExchangeAccount | None) -> Any:
        config: dict[str, Any] = {
            "enableRateLimit": True,
            # Kept so every answer can be checked: ccxt turns a body that is not JSON
            # into empty results instead of an error.
            "enableLastJsonResponse": True,
            "timeout": int(self._settings.timeout_seconds * 1000),
            "options": dict(_OPTIONS[market_type]),
        }
        if account is not None:
            config["apiKey"] = account.api_key
            config["secret"] = account.api_secret
        client = getattr(ccxt, _CCXT_CLASS[market_type])(config)
        client.logger = _CCXT_LOGGER
        if self._settings.sandbox:
            client.set_sandbox_mode(True)
        if self._settings.base_url:
            redirect(client, self._settings.base_url)
        return client

    def _public_client(self, market_type: MarketType) -> Any:
        if market_type not in self._public:
            self._public[market_type] = self._new_client(market_type, None)
        return self._public[market_type]

    async def _private_client(self, market_type: MarketType, account: ExchangeAccount) -> Any:
        fingerprint = hashlib.sha256(
            f"{account.api_key}\0{account.api_secret}".encode()
        ).hexdigest()
        key = (market_type, account.user_id)
        cached = self._private.get(key)
        if cached is not None and cached[0] == fingerprint:
            client = cached[1]
        else:
            if cached is not None:
                await cached[1].close()
            client = self._new_client(market_type, account)
            self._private[key] = (fingerprint, client)
        cache = await self._market_cache(market_type)
        if client.markets is None or getattr(client, "_tradebot_markets", None) is not cache:
            client.set_markets(cache.raw)
            client._tradebot_markets = cache
        return client

    async def close(self) -> None:
        clients = list(self._public.values()) + [client for _, client in self._private.values()]
        self._public.clear()
        self._private.clear()
        for client in clients:
            await client.close()

    # -- calling ccxt ----------------------------------------------------------------

    async def _read(
        self,
        client: Any,
        call: Callable[[], Awaitable[T]],
        valid: Callable[[T], bool] = lambda _: True,
    ) -> T:
        """An idempotent read: retried with backoff on timeouts, an unreachable exchange
        and unparseable answers (which ccxt passes through as empty results)."""
        attempts = max(1, self._settings.read_attempts)
        for attempt in range(1, attempts + 1):
            failure: DomainError = ExchangeUnavailable(
                details={"reason": "unexpected response from the exchange"}
            )
            try:
                result = await call()
                if _answered_json(client) and valid(result):
                    return result
            except (ccxt.RequestTimeout, ccxt.ExchangeNotAvailable) as exc:
                failure = translate(exc)
            except ccxt.BaseError as exc:
                raise translate(exc, _retry_after(client)) from None
            except (AttributeError, KeyError, TypeError, ValueError, IndexError):
                pass  # ccxt choked on an answer it could not parse: unexpected response
            if attempt == attempts:
                raise failure
            await asyncio.sleep(self._settings.retry_backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    # -- markets and public data -----------------------------------------------------

    async def _market_cache(self, market_type: MarketType) -> _MarketCache:
        cache = self._markets.get(market_type)
        if (
            cache is not None
            and time.monotonic() - cache.loaded_at < self._settings.markets_ttl_seconds
        ):
            return cache
        async with self._market_locks[market_type]:
            cache = self._markets.get(market_type)
            if (
                cache is not None
                and time.monotonic() - cache.loaded_at < self._settings.markets_ttl_seconds
            ):
                return cache
            client = self._public_client(market_type)
            loaded = await self._read(
                client, lambda: client.load_markets(reload=True), lambda markets: bool(markets)
            )
            raw = [m for m in loaded.values() if _tradable(m, market_type)]
            markets = {m["id"]: _to_market(m, market_type) for m in raw}
            cache = _MarketCache(
                loaded_at=time.monotonic(),
                markets=markets,
                ccxt_symbols={m["id"]: m["symbol"] for m in raw},
                raw=list(loaded.values()),
            )
            self._markets[market_type] = cache
            return cache

    async def fetch_markets(self, market_type: MarketType) -> Sequence[Market]:
        return list((await self._market_cache(market_type)).markets.values())

    async def fetch_market(self, market_type: MarketType, symbol: str) -> Market:
        cache = await self._market_cache(market_type)
        market = cache.markets.get(_exchange_symbol(symbol))
        if market is None:
            raise UnknownSymbol(details={"symbol": symbol, "market_type": market_type.value})
        return market

    async def _ccxt_symbol(self, market_type: MarketType, symbol: str) -> str:
        market = await self.fetch_market(market_type, symbol)
        return (await self._market_cache(market_type)).ccxt_symbols[market.symbol]

    async def fetch_candles(
        self, market_type: MarketType, symbol: str, timeframe: Timeframe, since_ms: int, limit: int
    ) -> Sequence[Candle]:
        ccxt_symbol = await self._ccxt_symbol(market_type, symbol)
        client = self._public_client(market_type)
        rows = await self._read(
            client,
            lambda: client.fetch_ohlcv(ccxt_symbol, timeframe.value, since_ms, limit),
            lambda rows: isinstance(rows, list) and all(len(row) >= 6 for row in rows),
        )
        return [
            Candle(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5]))
            for r in rows
        ]

    async def fetch_ticker(self, market_type: MarketType, symbol: str) -> Ticker:
        market = await self.fetch_market(market_type, symbol)
        ccxt_symbol = await self._ccxt_symbol(market_type, symbol)
        client = self._public_client(market_type)
        raw = await self._read(
            client, lambda: client.fetch_ticker(ccxt_symbol), lambda t: t.get("last") is not None
        )
        return _to_ticker(market.symbol, raw)

    async def ping(self) -> None:
        client = self._public_client(MarketType.SPOT)
        await self._read(client, lambda: client.public_get_ping(), lambda r: isinstance(r, dict))

    # -- account ---------------------------------------------------------------------

    async def validate_credentials(self, account: ExchangeAccount) -> None:
        client = await self._private_client(MarketType.SPOT, account)
        await self._read(client, lambda: client.fetch_balance(), _parsed)

    async def fetch_balance(
        self, account: ExchangeAccount, currency: str = "USDT"
    ) -> AccountBalance:
        spot_client = await self._private_client(MarketType.SPOT, account)
        futures_client = await self._private_client(MarketType.FUTURES, account)
        spot_raw, futures_raw = await asyncio.gather(
            self._read(spot_client, lambda: spot_client.fetch_balance(), _parsed),
            self._read(futures_client, lambda: futures_client.fetch_balance(), _parsed),
        )
        spot = await self._value_in(spot_raw.get("total") or {}, currency)
        futures = _decimal((futures_raw.get("total") or {}).get(currency)) or Decimal(0)
        return AccountBalance(spot=spot, futures=futures, currency=currency)

    async def fetch_spot_free(self, account: ExchangeAccount, asset: str) -> Decimal:
        client = await self._private_client(MarketType.SPOT, account)
        raw = await self._read(client, lambda: client.fetch_balance(), _parsed)
        return _decimal((raw.get("free") or {}).get(asset)) or Decimal(0)

    async def _value_in(self, totals: dict[str, Any], currency: str) -> Decimal:
        """A wallet's total in `currency`: other assets at their last price against it."""
        value = _decimal(totals.get(currency)) or Decimal(0)
        held = {asset: _decimal(amount) for asset, amount in totals.items() if asset != currency}
        held = {asset: amount for asset, amount in held.items() if amount}
        cache = await self._market_cache(MarketType.SPOT)
        pairs = {
            f"{asset}{currency}": asset for asset in held if f"{asset}{currency}" in cache.markets
        }
        if pairs:
            client = self._public_client(MarketType.SPOT)
            symbols = [cache.ccxt_symbols[pair] for pair in pairs]
            tickers = await self._read(
                client, lambda: client.fetch_tickers(symbols), lambda found: bool(found)
            )
            for pair, asset in pairs.items():
                last = _decimal(tickers.get(cache.ccxt_symbols[pair], {}).get("last"))
                amount = held[asset]
                if last is not None and amount is not None:
                    value += amount * last
        return value

    async def transfer(
        self,
        account: ExchangeAccount,
        asset: str,
        amount: Decimal,
        source: Wallet,
        destination: Wallet,
    ) -> None:
        client = await self._private_client(MarketType.SPOT, account)
        try:
            await client.transfer(
                asset, float(amount), _WALLET_ACCOUNT[source], _WALLET_ACCOUNT[destination]
            )
        except ccxt.BaseError as exc:
            raise translate(exc, _retry_after(client)) from None
        except (AttributeError, KeyError, TypeError, ValueError):
            raise _unknown_outcome("transfer") from None
        if not _answered_json(client):
            raise _unknown_outcome("transfer")

    async def set_leverage(self, account: ExchangeAccount, symbol: str, leverage: int) -> None:
        ccxt_symbol = await self._ccxt_symbol(MarketType.FUTURES, symbol)
        client = await self._private_client(MarketType.FUTURES, account)
        await self._read(client, lambda: client.set_leverage(leverage, ccxt_symbol))

    async def fetch_positions(self, account: ExchangeAccount) -> Sequence[ExchangePosition]:
        client = await self._private_client(MarketType.FUTURES, account)
        cache = await self._market_cache(MarketType.FUTURES)
        raw = await self._read(client, lambda: client.fetch_positions())
        by_ccxt = {v: k for k, v in cache.ccxt_symbols.items()}
        open_positions = [
            p
            for p in raw
            if (_decimal(p.get("contracts")) or 0) != 0 and p.get("symbol") in by_ccxt
        ]
        leverages: dict[str, Any] = {}
        if any(p.get("leverage") is None for p in open_positions):
            # Binance's v3 position endpoint no longer reports leverage.
            symbols = [p["symbol"] for p in open_positions]
            leverages = await self._read(client, lambda: client.fetch_leverages(symbols))
        positions = []
        for p in open_positions:
            contracts = _decimal(p.get("contracts")) or Decimal(0)
            leverage = p.get("leverage") or (leverages.get(p["symbol"]) or {}).get("longLeverage")
            size = contracts * (_decimal(p.get("contractSize")) or Decimal(1))
            positions.append(
                ExchangePosition(
                    symbol=by_ccxt[p["symbol"]],
                    side=PositionSide.SHORT if p.get("side") == "short" else PositionSide.LONG,
                    amount=abs(size),
                    entry_price=_decimal(p.get("entryPrice")) or Decimal(0),
                    leverage=int(leverage or 1),
                    unrealized_pnl=_decimal(p.get("unrealizedPnl")) or Decimal(0),
                    liquidation_price=_decimal(p.get("liquidationPrice")),
                )
            )
        return positions

    # -- orders ----------------------------------------------------------------------

    async def create_order(self, account: ExchangeAccount, request: OrderRequest) -> Order:
        order = await self._send_order(account, request)
        count_order_sent("binance", request.market_type.value, request.side.value)
        return order

    async def _send_order(self, account: ExchangeAccount, request: OrderRequest) -> Order:
        market = await self.fetch_market(request.market_type, request.symbol)
        ccxt_symbol = await self._ccxt_symbol(request.market_type, request.symbol)
        client = await self._private_client(request.market_type, account)
        try:
            amount = Decimal(client.amount_to_precision(ccxt_symbol, str(request.amount)))
            price = (
                Decimal(client.price_to_precision(ccxt_symbol, str(request.price)))
                if request.price is not None
                else None
            )
        except ccxt.InvalidOrder as exc:
            raise below_minimum(exc) from None
        reference = (
            price
            if price is not None
            else (await self.fetch_ticker(request.market_type, request.symbol)).last
        )
        market.check_minimums(amount, reference)
        params: dict[str, Any] = {"newClientOrderId": request.client_order_id}
        if request.reduce_only:
            params["reduceOnly"] = True
        try:
            raw = await client.create_order(
                ccxt_symbol,
                request.type.value,
                request.side.value,
                str(amount),
                str(price) if price is not None else None,
                params,
            )
        except (ccxt.RequestTimeout, ccxt.ExchangeNotAvailable) as exc:
            # The order may or may not have reached the exchange: ask, never resend.
            return await self._resolve_uncertain_order(account, request, translate(exc))
        except ccxt.BaseError as exc:
            if is_duplicate_order(exc):
                existing = await self.fetch_order_by_client_id(
                    account, request.market_type, request.symbol, request.client_order_id
                )
                if existing is not None:
                    return existing
            raise translate(exc, _retry_after(client)) from None
        except (AttributeError, KeyError, TypeError, ValueError):
            return await self._resolve_uncertain_order(account, request, _unknown_outcome("order"))
        if not _answered_json(client) or not raw.get("id"):
            return await self._resolve_uncertain_order(account, request, _unknown_outcome("order"))
        return _to_order(raw, market.symbol, request.market_type, request.client_order_id)

    async def _resolve_uncertain_order(
        self, account: ExchangeAccount, request: OrderRequest, failure: DomainError
    ) -> Order:
        existing = await self._find_after_uncertain_outcome(account, request)
        if existing is None:
            raise failure
        return existing

    async def _find_after_uncertain_outcome(
        self, account: ExchangeAccount, request: OrderRequest
    ) -> Order | None:
        try:
            return await self.fetch_order_by_client_id(
                account, request.market_type, request.symbol, request.client_order_id
            )
        except DomainError:
            raise ExchangeUnavailable(
                "Exchange unavailable; the order's outcome is unknown",
                details={"client_order_id": request.client_order_id},
            ) from None

    async def fetch_order_by_client_id(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, client_order_id: str
    ) -> Order | None:
        market = await self.fetch_market(market_type, symbol)
        ccxt_symbol = await self._ccxt_symbol(market_type, symbol)
        client = await self._private_client(market_type, account)

        async def fetch() -> dict[str, Any] | None:
            try:
                order: dict[str, Any] = await client.fetch_order(
                    "", ccxt_symbol, {"origClientOrderId": client_order_id}
                )
            except ccxt.OrderNotFound:
                return None
            return order

        raw = await self._read(client, fetch, lambda order: order is None or bool(order.get("id")))
        if raw is None:
            return None
        return _to_order(raw, market.symbol, market_type, client_order_id)

    async def fetch_order_fills(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, order: Order
    ) -> Sequence[OrderFill]:
        market = await self.fetch_market(market_type, symbol)
        ccxt_symbol = await self._ccxt_symbol(market_type, symbol)
        client = await self._private_client(market_type, account)
        since = int(order.created_at.timestamp() * 1000) - 60_000
        raw = await self._read(
            client,
            lambda: client.fetch_my_trades(
                ccxt_symbol, since, None, {"orderId": order.exchange_order_id}
            ),
            lambda rows: isinstance(rows, list),
        )
        rows = [t for t in raw if str(t.get("order") or "") == order.exchange_order_id]
        fills = []
        for t in sorted(rows, key=lambda t: (t.get("timestamp") or 0, str(t.get("id")))):
            price = _decimal(t.get("price")) or Decimal(0)
            fee = t.get("fee") or {}
            cost = _decimal(fee.get("cost")) or Decimal(0)
            asset = fee.get("currency") or market.quote
            fills.append(
                OrderFill(
                    trade_id=str(t.get("id") or ""),
                    price=price,
                    quantity=_decimal(t.get("amount")) or Decimal(0),
                    fee=cost,
                    fee_asset=asset,
                    fee_in_quote=await self._in_quote(cost, asset, market, price),
                    time=datetime.fromtimestamp(t["timestamp"] / 1000, UTC)
                    if t.get("timestamp")
                    else order.created_at,
                )
            )
        return fills

    async def _in_quote(
        self, amount: Decimal, asset: str, market: Market, price: Decimal
    ) -> Decimal:
        """A fee's value in the market's quote: in the coin itself at the fill's price, in a
        third asset (BNB) at that asset's last price against the quote."""
        if not amount or asset == market.quote:
            return amount
        if asset == market.base:
            return amount * price
        try:
            ticker = await self.fetch_ticker(MarketType.SPOT, f"{asset}{market.quote}")
        except DomainError:
            log.warning("no %s%s price to value a fee of %s %s", asset, market.quote, amount, asset)
            return Decimal(0)
        return amount * ticker.last

    async def fetch_server_time_ms(self) -> int | None:
        client = self._public_client(MarketType.FUTURES)
        value = await self._read(client, lambda: client.fetch_time(), lambda t: bool(t))
        return int(value)

    async def fetch_open_orders(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str | None = None
    ) -> Sequence[Order]:
        client = await self._private_client(market_type, account)
        cache = await self._market_cache(market_type)
        ccxt_symbol = await self._ccxt_symbol(market_type, symbol) if symbol else None
        raw = await self._read(client, lambda: client.fetch_open_orders(ccxt_symbol))
        by_ccxt = {v: k for k, v in cache.ccxt_symbols.items()}
        return [
            _to_order(o, by_ccxt.get(o.get("symbol"), o.get("symbol") or ""), market_type, None)
            for o in raw
        ]


def _parsed(response: dict[str, Any]) -> bool:
    """ccxt keeps the decoded exchange answer in `info`; text there means it was not JSON."""
    return isinstance(response.get("info"), dict | list)


def _unknown_outcome(action: str) -> ExchangeUnavailable:
    return ExchangeUnavailable(
        f"Exchange unavailable; the {action}'s outcome is unknown",
        details={"reason": "unexpected response from the exchange"},
    )


def _answered_json(client: Any) -> bool:
    return isinstance(getattr(client, "last_json_response", None), dict | list)


def _retry_after(client: Any) -> int | None:
    headers = getattr(client, "last_response_headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _tradable(market: dict[str, Any], market_type: MarketType) -> bool:
    if market.get("active") is False:
        return False
    if market_type is MarketType.SPOT:
        return bool(market.get("spot"))
    return bool(market.get("swap")) and bool(market.get("linear"))


def _exchange_symbol(symbol: str) -> str:
    """ "BTCUSDT", "btcusdt", "BTC/USDT" and "BTC/USDT:USDT" all name the market BTCUSDT."""
    return symbol.split(":")[0].replace("/", "").upper()


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _to_market(m: dict[str, Any], market_type: MarketType) -> Market:
    precision = m.get("precision") or {}
    limits = m.get("limits") or {}
    leverage = (limits.get("leverage") or {}).get("max")
    return Market(
        symbol=m["id"],
        base=m["base"],
        quote=m["quote"],
        market_type=market_type,
        amount_step=_decimal(precision.get("amount")) or Decimal(0),
        price_step=_decimal(precision.get("price")) or Decimal(0),
        min_amount=_decimal((limits.get("amount") or {}).get("min")) or Decimal(0),
        min_notional=_decimal((limits.get("cost") or {}).get("min")) or Decimal(0),
        max_leverage=1 if market_type is MarketType.SPOT else int(leverage or DEFAULT_MAX_LEVERAGE),
    )


def _to_ticker(symbol: str, raw: dict[str, Any]) -> Ticker:
    timestamp = raw.get("timestamp")
    last = _decimal(raw.get("last")) or _decimal(raw.get("close"))
    if last is None:
        raise ExchangeUnavailable(details={"reason": "ticker without a last price"})
    return Ticker(
        symbol=symbol,
        last=last,
        bid=_decimal(raw.get("bid")),
        ask=_decimal(raw.get("ask")),
        at=datetime.fromtimestamp(timestamp / 1000, UTC) if timestamp else datetime.now(UTC),
    )


def _to_order(
    raw: dict[str, Any], symbol: str, market_type: MarketType, client_order_id: str | None
) -> Order:
    fees = raw.get("fees") or ([raw["fee"]] if raw.get("fee") else [])
    fee = sum((_decimal(f.get("cost")) or Decimal(0) for f in fees), Decimal(0))
    fee_asset = next((f.get("currency") for f in fees if f.get("currency")), "") or ""
    timestamp = raw.get("timestamp")
    return Order(
        exchange_order_id=str(raw.get("id") or ""),
        client_order_id=raw.get("clientOrderId") or client_order_id or "",
        symbol=symbol,
        market_type=market_type,
        side=OrderSide(raw.get("side") or "buy"),
        type=OrderType.LIMIT if raw.get("type") == "limit" else OrderType.MARKET,
        status=_STATUS.get(raw.get("status") or "", OrderStatus.OPEN),
        amount=_decimal(raw.get("amount")) or Decimal(0),
        filled=_decimal(raw.get("filled")) or Decimal(0),
        price=_decimal(raw.get("price")),
        average_price=_decimal(raw.get("average")),
        fee=fee,
        fee_asset=fee_asset,
        created_at=datetime.fromtimestamp(timestamp / 1000, UTC)
        if timestamp
        else datetime.now(UTC),
    )
