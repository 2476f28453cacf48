"""Public market data for the paper exchange from stored candles, as of replay time:
markets are the stored series, the ticker is the close of the newest closed candle,
and candles that have not closed in replay time do not exist yet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from adapters.exchange.replay.replay_clock import ReplayClock
from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import AccountBalance, Wallet
from domain.exchange.errors import ExchangeUnavailable, UnknownSymbol
from domain.exchange.fill import OrderFill
from domain.exchange.market import Market, MarketType
from domain.exchange.order import Order, OrderRequest
from domain.exchange.position import ExchangePosition
from domain.exchange.ticker import Ticker
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey, CandleStore, StoredSeries
from domain.ports.exchange_gateway import ExchangeGateway

_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")
_STEP = Decimal("1e-8")
_TICKER_LOOKBACK = 1_000  # candles searched back for the newest closed one


def _split(symbol: str) -> tuple[str, str]:
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, "USDT"


class ReplayMarketData(ExchangeGateway):
    def __init__(self, candles: CandleStore, clock: ReplayClock, exchange_id: str) -> None:
        self._candles = candles
        self._clock = clock
        self._exchange_id = exchange_id

    async def _series(
        self, market_type: MarketType, symbol: str | None = None
    ) -> list[StoredSeries]:
        await self._clock.ensure_anchored()
        return [
            s
            for s in await self._candles.series()
            if s.key.exchange == self._exchange_id
            and s.key.market_type is market_type
            and (symbol is None or s.key.symbol == symbol)
        ]

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    async def fetch_markets(self, market_type: MarketType) -> Sequence[Market]:
        symbols = sorted({s.key.symbol for s in await self._series(market_type)})
        return [self._market(market_type, symbol) for symbol in symbols]

    async def fetch_market(self, market_type: MarketType, symbol: str) -> Market:
        if not await self._series(market_type, symbol):
            raise UnknownSymbol(
                details={"symbol": [f"no stored {market_type.value} candles of {symbol} to replay"]}
            )
        return self._market(market_type, symbol)

    def _market(self, market_type: MarketType, symbol: str) -> Market:
        base, quote = _split(symbol)
        return Market(
            symbol=symbol,
            base=base,
            quote=quote,
            market_type=market_type,
            amount_step=_STEP,
            price_step=_STEP,
            min_amount=Decimal(0),
            min_notional=Decimal(0),
            max_leverage=125 if market_type is MarketType.FUTURES else 1,
        )

    async def fetch_candles(
        self, market_type: MarketType, symbol: str, timeframe: Timeframe, since_ms: int, limit: int
    ) -> Sequence[Candle]:
        await self._clock.ensure_anchored()
        step = timeframe.milliseconds
        newest_closed = (self._now_ms() // step) * step - step
        end = min(since_ms + (limit - 1) * step, newest_closed)
        if end < since_ms:
            return []
        key = CandleKey(self._exchange_id, market_type, symbol, timeframe)
        s = await self._candles.read(key, since_ms, end)
        return [
            Candle(int(s.open_time_ms[i]), s.open[i], s.high[i], s.low[i], s.close[i], 0.0)
            for i in range(len(s))
        ]

    async def fetch_ticker(self, market_type: MarketType, symbol: str) -> Ticker:
        series = await self._series(market_type, symbol)
        if not series:
            raise UnknownSymbol(
                details={"symbol": [f"no stored {market_type.value} candles of {symbol} to replay"]}
            )
        finest = min(series, key=lambda s: s.key.timeframe.milliseconds)
        step = finest.key.timeframe.milliseconds
        now_ms = self._now_ms()
        newest_closed = (now_ms // step) * step - step
        read = await self._candles.read(
            finest.key, newest_closed - _TICKER_LOOKBACK * step, newest_closed
        )
        if len(read) == 0:
            raise ExchangeUnavailable(
                f"The replay has no {symbol} price at {self._clock.now().isoformat()}"
            )
        last = Decimal(repr(float(read.close[-1])))
        at = datetime.fromtimestamp(
            (int(read.open_time_ms[-1]) + step) / 1000, self._clock.now().tzinfo
        )
        return Ticker(symbol, last, last, last, at)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    # -- accounts belong to the paper exchange, never to its price source ----------

    async def validate_credentials(self, account: ExchangeAccount) -> None:
        raise _no_accounts()

    async def fetch_balance(
        self, account: ExchangeAccount, currency: str = "USDT"
    ) -> AccountBalance:
        raise _no_accounts()

    async def fetch_spot_free(self, account: ExchangeAccount, asset: str) -> Decimal:
        raise _no_accounts()

    async def create_order(self, account: ExchangeAccount, request: OrderRequest) -> Order:
        raise _no_accounts()

    async def fetch_order_by_client_id(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, client_order_id: str
    ) -> Order | None:
        raise _no_accounts()

    async def fetch_order_fills(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, order: Order
    ) -> Sequence[OrderFill]:
        raise _no_accounts()

    async def fetch_server_time_ms(self) -> int | None:
        return None

    async def fetch_open_orders(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str | None = None
    ) -> Sequence[Order]:
        raise _no_accounts()

    async def fetch_positions(self, account: ExchangeAccount) -> Sequence[ExchangePosition]:
        raise _no_accounts()

    async def set_leverage(self, account: ExchangeAccount, symbol: str, leverage: int) -> None:
        raise _no_accounts()

    async def transfer(
        self,
        account: ExchangeAccount,
        asset: str,
        amount: Decimal,
        source: Wallet,
        destination: Wallet,
    ) -> None:
        raise _no_accounts()


def _no_accounts() -> NotImplementedError:
    return NotImplementedError("the replay feed only prices the paper exchange")
