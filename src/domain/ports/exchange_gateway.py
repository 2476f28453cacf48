from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import AccountBalance, Wallet
from domain.exchange.fill import OrderFill
from domain.exchange.market import Market, MarketType
from domain.exchange.order import Order, OrderRequest
from domain.exchange.position import ExchangePosition
from domain.exchange.ticker import Ticker
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe


class ExchangeGateway(Protocol):
    """Everything the product needs from an exchange, in domain types.

    Symbols are exchange ids such as "BTCUSDT". Failures are domain errors:
    InvalidCredentials, InsufficientFunds, UnknownSymbol, OrderRejected
    (BelowMarketMinimum), ExchangeUnavailable (retryable), ExchangeRateLimited.
    Public data (markets, candles, tickers) needs no account.
    """

    async def validate_credentials(self, account: ExchangeAccount) -> None:
        """Return when the key and secret work; InvalidCredentials otherwise."""
        ...

    async def fetch_balance(
        self, account: ExchangeAccount, currency: str = "USDT"
    ) -> AccountBalance: ...

    async def fetch_spot_free(self, account: ExchangeAccount, asset: str) -> Decimal:
        """How much of `asset` the spot wallet holds free (not locked in orders)."""
        ...

    async def fetch_markets(self, market_type: MarketType) -> Sequence[Market]: ...

    async def fetch_market(self, market_type: MarketType, symbol: str) -> Market:
        """The market for the symbol; UnknownSymbol when the exchange has none."""
        ...

    async def fetch_candles(
        self,
        market_type: MarketType,
        symbol: str,
        timeframe: Timeframe,
        since_ms: int,
        limit: int,
    ) -> Sequence[Candle]:
        """Up to `limit` candles opening at or after `since_ms`, oldest first."""
        ...

    async def fetch_ticker(self, market_type: MarketType, symbol: str) -> Ticker: ...

    async def create_order(self, account: ExchangeAccount, request: OrderRequest) -> Order:
        """Round to the market's precision, check its minimums, then place the order.

        Idempotent by client order id: a request whose id was already used
        returns the existing order and never places a second one.
        """
        ...

    async def fetch_order_by_client_id(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, client_order_id: str
    ) -> Order | None: ...

    async def fetch_order_fills(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, order: Order
    ) -> Sequence[OrderFill]:
        """The executions of one order (Binance: myTrades by order id), oldest first, each
        fee valued in the market's quote asset."""
        ...

    async def fetch_server_time_ms(self) -> int | None:
        """The exchange's clock (ms), to judge candle closes by it; None when the exchange
        keeps no clock of its own (the paper exchange runs on ours)."""
        ...

    async def fetch_open_orders(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str | None = None
    ) -> Sequence[Order]: ...

    async def fetch_positions(self, account: ExchangeAccount) -> Sequence[ExchangePosition]:
        """Open USD-M futures positions."""
        ...

    async def set_leverage(self, account: ExchangeAccount, symbol: str, leverage: int) -> None: ...

    async def transfer(
        self,
        account: ExchangeAccount,
        asset: str,
        amount: Decimal,
        source: Wallet,
        destination: Wallet,
    ) -> None: ...

    async def ping(self) -> None:
        """Return when the exchange's public API answers (readiness)."""
        ...

    async def close(self) -> None:
        """Release connections (on shutdown)."""
        ...
