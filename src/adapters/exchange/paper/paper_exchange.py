"""A simulated exchange: real market data, simulated wallets and fills per user."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from adapters.exchange.paper.books import PaperBooks, PaperPosition
from adapters.metrics.counters import count_order_sent
from domain.errors import InvalidInput
from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import AccountBalance, Wallet
from domain.exchange.errors import InsufficientFunds, InvalidCredentials, OrderRejected
from domain.exchange.fill import OrderFill
from domain.exchange.market import Market, MarketType
from domain.exchange.order import Order, OrderRequest, OrderSide, OrderStatus, OrderType
from domain.exchange.position import ExchangePosition, PositionSide
from domain.exchange.ticker import Ticker
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway

_CREDENTIAL = re.compile(r"^[A-Za-z0-9]{16,128}$")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PaperSettings:
    spot_fee_rate: Decimal = Decimal("0.001")
    futures_fee_rate: Decimal = Decimal("0.0004")
    slippage_rate: Decimal = Decimal(0)
    starting_spot: Decimal = Decimal(10_000)
    starting_futures: Decimal = Decimal(0)
    settlement_asset: str = "USDT"


class PaperExchange(ExchangeGateway):
    """Fills market orders at the latest price (plus slippage, minus fees), limit
    orders when the price crosses them (checked whenever the account is read),
    and enforces the market's precision and minimums like the real exchange.
    Futures are one-way, isolated margin; liquidation is the risk engine's job."""

    def __init__(
        self,
        market_data: ExchangeGateway,
        session_factory: async_sessionmaker[Any],
        clock: Clock,
        settings: PaperSettings | None = None,
    ) -> None:
        self._market_data = market_data
        self._sessions = session_factory
        self._clock = clock
        self._settings = settings or PaperSettings()
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    # -- public market data comes from the real source --------------------------------

    async def fetch_markets(self, market_type: MarketType) -> Sequence[Market]:
        return await self._market_data.fetch_markets(market_type)

    async def fetch_market(self, market_type: MarketType, symbol: str) -> Market:
        return await self._market_data.fetch_market(market_type, symbol)

    async def fetch_candles(
        self, market_type: MarketType, symbol: str, timeframe: Timeframe, since_ms: int, limit: int
    ) -> Sequence[Candle]:
        return await self._market_data.fetch_candles(
            market_type, symbol, timeframe, since_ms, limit
        )

    async def fetch_ticker(self, market_type: MarketType, symbol: str) -> Ticker:
        return await self._market_data.fetch_ticker(market_type, symbol)

    async def ping(self) -> None:
        await self._market_data.ping()

    async def close(self) -> None:
        await self._market_data.close()

    # -- the simulated account ------------------------------------------------------

    async def validate_credentials(self, account: ExchangeAccount) -> None:
        if not (_CREDENTIAL.match(account.api_key) and _CREDENTIAL.match(account.api_secret)):
            raise InvalidCredentials(
                details="paper keys and secrets are 16-128 ASCII letters or digits"
            )

    async def fetch_balance(
        self, account: ExchangeAccount, currency: str = "USDT"
    ) -> AccountBalance:
        async with self._books(account) as books:
            await self._match_open_orders(books)
            spot = ZERO
            for asset, amount in (await books.wallet(Wallet.SPOT)).items():
                if amount == 0:
                    continue
                if asset == currency:
                    spot += amount
                else:
                    ticker = await self.fetch_ticker(MarketType.SPOT, f"{asset}{currency}")
                    spot += amount * ticker.last
            futures = await books.balance(Wallet.FUTURES, currency)
            for position in await books.positions():
                futures += position.margin + await self._unrealized(position)
        return AccountBalance(spot=spot, futures=futures, currency=currency)

    async def fetch_spot_free(self, account: ExchangeAccount, asset: str) -> Decimal:
        async with self._books(account) as books:
            await self._match_open_orders(books)
            return await books.balance(Wallet.SPOT, asset)

    async def create_order(self, account: ExchangeAccount, request: OrderRequest) -> Order:
        market = await self.fetch_market(request.market_type, request.symbol)
        amount = market.round_amount(request.amount)
        limit_price = market.round_price(request.price) if request.price is not None else None
        async with self._books(account) as books:
            existing = await books.order_by_client_id(request.market_type, request.client_order_id)
            if existing is not None:
                return existing
            last = (await self.fetch_ticker(request.market_type, request.symbol)).last
            market.check_minimums(amount, limit_price or last)
            order = Order(
                exchange_order_id="",
                client_order_id=request.client_order_id,
                symbol=request.symbol,
                market_type=request.market_type,
                side=request.side,
                type=request.type,
                status=OrderStatus.OPEN,
                amount=amount,
                filled=ZERO,
                price=limit_price,
                average_price=None,
                fee=ZERO,
                fee_asset=self._settings.settlement_asset,
                created_at=self._clock.now(),
            )
            order = await books.insert_order(order, request.reduce_only)
            fill_price = self._fill_price(request.side, request.type, last, limit_price)
            if fill_price is not None:
                await self._fill(books, market, order, fill_price, request.reduce_only)
            else:
                await self._ensure_affordable(books, market, order, limit_price or last)
            result = await books.order_by_client_id(request.market_type, request.client_order_id)
        assert result is not None
        count_order_sent("paper", request.market_type.value, request.side.value)
        return result

    async def fetch_order_by_client_id(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, client_order_id: str
    ) -> Order | None:
        async with self._books(account) as books:
            await self._match_open_orders(books)
            order = await books.order_by_client_id(market_type, client_order_id)
        return order if order is not None and order.symbol == symbol else None

    async def fetch_order_fills(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, order: Order
    ) -> Sequence[OrderFill]:
        """A paper order fills in one execution, its fee charged in the settlement asset."""
        async with self._books(account) as books:
            stored = await books.order_by_client_id(market_type, order.client_order_id)
        if stored is None or stored.filled <= 0:
            return []
        price = stored.average_price or stored.price or ZERO
        return [
            OrderFill(
                trade_id=stored.exchange_order_id,
                price=price,
                quantity=stored.filled,
                fee=stored.fee,
                fee_asset=stored.fee_asset,
                fee_in_quote=stored.fee,
                time=stored.created_at,
            )
        ]

    async def fetch_server_time_ms(self) -> int | None:
        return None

    async def fetch_open_orders(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str | None = None
    ) -> Sequence[Order]:
        async with self._books(account) as books:
            await self._match_open_orders(books)
            return [order for order, _ in await books.open_orders(market_type, symbol)]

    async def fetch_positions(self, account: ExchangeAccount) -> Sequence[ExchangePosition]:
        async with self._books(account) as books:
            await self._match_open_orders(books)
            return [
                ExchangePosition(
                    symbol=p.symbol,
                    side=p.side,
                    amount=p.amount,
                    entry_price=p.entry_price,
                    leverage=p.leverage,
                    unrealized_pnl=await self._unrealized(p),
                )
                for p in await books.positions()
            ]

    async def set_leverage(self, account: ExchangeAccount, symbol: str, leverage: int) -> None:
        market = await self.fetch_market(MarketType.FUTURES, symbol)
        if not 1 <= leverage <= market.max_leverage:
            raise InvalidInput(
                "Invalid leverage",
                details={"leverage": [f"1 to {market.max_leverage} for {symbol}"]},
            )
        async with self._books(account) as books:
            await books.set_leverage(symbol, leverage)

    async def transfer(
        self,
        account: ExchangeAccount,
        asset: str,
        amount: Decimal,
        source: Wallet,
        destination: Wallet,
    ) -> None:
        if amount <= 0 or source == destination:
            raise InvalidInput("Invalid transfer", details={"amount": ["must be positive"]})
        async with self._books(account) as books:
            if await books.balance(source, asset) < amount:
                raise InsufficientFunds(
                    details={"available": str(await books.balance(source, asset))}
                )
            await books.add(source, asset, -amount)
            await books.add(destination, asset, amount)

    # -- internals --------------------------------------------------------------------

    @asynccontextmanager
    async def _books(self, account: ExchangeAccount) -> AsyncIterator[PaperBooks]:
        await self.validate_credentials(account)
        async with self._locks[account.user_id], self._sessions() as session, session.begin():
            books = PaperBooks(session, account.user_id)
            await books.open_account(
                {
                    Wallet.SPOT: self._settings.starting_spot,
                    Wallet.FUTURES: self._settings.starting_futures,
                },
                self._settings.settlement_asset,
            )
            yield books

    def _fill_price(
        self, side: OrderSide, order_type: OrderType, last: Decimal, limit: Decimal | None
    ) -> Decimal | None:
        """Where the order fills now: market orders at the last price moved against the
        trader by the slippage; a limit order that is already marketable at the better
        of its limit and that price; a resting limit order not yet (None)."""
        slip = self._settings.slippage_rate
        market_price = last * (1 + slip) if side is OrderSide.BUY else last * (1 - slip)
        if order_type is OrderType.MARKET:
            return market_price
        assert limit is not None
        if side is OrderSide.BUY and market_price <= limit:
            return market_price
        if side is OrderSide.SELL and market_price >= limit:
            return market_price
        return None

    def _fee_rate(self, market_type: MarketType) -> Decimal:
        if market_type is MarketType.SPOT:
            return self._settings.spot_fee_rate
        return self._settings.futures_fee_rate

    async def _ensure_affordable(
        self, books: PaperBooks, market: Market, order: Order, price: Decimal
    ) -> None:
        notional = order.amount * price
        fee = notional * self._fee_rate(market.market_type)
        if market.market_type is MarketType.SPOT:
            if order.side is OrderSide.BUY:
                needed, available = notional + fee, await books.balance(Wallet.SPOT, market.quote)
            else:
                needed, available = order.amount, await books.balance(Wallet.SPOT, market.base)
        else:
            leverage = await books.leverage(market.symbol) or 1
            needed = notional / leverage + fee
            available = await books.balance(Wallet.FUTURES, market.quote)
        if available < needed:
            raise InsufficientFunds(details={"needed": str(needed), "available": str(available)})

    async def _fill(
        self, books: PaperBooks, market: Market, order: Order, price: Decimal, reduce_only: bool
    ) -> None:
        price = market.round_price(price)
        if market.market_type is MarketType.SPOT:
            fee = await self._fill_spot(books, market, order, price)
            amount = order.amount
        else:
            amount, fee = await self._fill_futures(books, market, order, price, reduce_only)
        await books.settle_order(order.exchange_order_id, OrderStatus.FILLED, amount, price, fee)

    async def _fill_spot(
        self, books: PaperBooks, market: Market, order: Order, price: Decimal
    ) -> Decimal:
        notional = order.amount * price
        fee = notional * self._settings.spot_fee_rate
        if order.side is OrderSide.BUY:
            available = await books.balance(Wallet.SPOT, market.quote)
            if available < notional + fee:
                raise InsufficientFunds(
                    details={"needed": str(notional + fee), "available": str(available)}
                )
            await books.add(Wallet.SPOT, market.quote, -(notional + fee))
            await books.add(Wallet.SPOT, market.base, order.amount)
        else:
            available = await books.balance(Wallet.SPOT, market.base)
            if available < order.amount:
                raise InsufficientFunds(
                    details={"needed": str(order.amount), "available": str(available)}
                )
            await books.add(Wallet.SPOT, market.base, -order.amount)
            await books.add(Wallet.SPOT, market.quote, notional - fee)
        return fee

    async def _fill_futures(
        self, books: PaperBooks, market: Market, order: Order, price: Decimal, reduce_only: bool
    ) -> tuple[Decimal, Decimal]:
        side = PositionSide.LONG if order.side is OrderSide.BUY else PositionSide.SHORT
        position = await books.position(market.symbol)
        leverage = await books.leverage(market.symbol) or 1
        remaining = order.amount
        wallet_delta = ZERO
        closing_done = ZERO
        if position is not None and position.side is not side:
            closing = min(remaining, position.amount)
            closing_done = closing
            direction = 1 if position.side is PositionSide.LONG else -1
            pnl = (price - position.entry_price) * closing * direction
            released = position.margin * closing / position.amount
            # Isolated margin: a position can lose its margin, never more.
            wallet_delta += max(released + pnl, ZERO)
            position.margin -= released
            position.amount -= closing
            remaining -= closing
            await books.save_position(position, market.symbol)
            position = None if position.amount == 0 else position
        if reduce_only:
            if remaining == order.amount:
                raise OrderRejected("reduce-only order would not reduce a position")
            remaining = ZERO
        # What closed plus what opens: a reduce-only order fills only what it closed.
        filled = closing_done if reduce_only else order.amount
        fee = filled * price * self._settings.futures_fee_rate
        if remaining > 0:
            margin = remaining * price / leverage
            available = await books.balance(Wallet.FUTURES, market.quote) + wallet_delta
            if available < margin + fee:
                raise InsufficientFunds(
                    details={"needed": str(margin + fee), "available": str(available)}
                )
            wallet_delta -= margin
            if position is None:
                position = PaperPosition(market.symbol, side, ZERO, price, ZERO, leverage)
            total = position.amount + remaining
            position.entry_price = (
                position.entry_price * position.amount + price * remaining
            ) / total
            position.amount = total
            position.margin += margin
            await books.save_position(position, market.symbol)
        await books.add(Wallet.FUTURES, market.quote, wallet_delta - fee)
        return filled, fee

    async def _match_open_orders(self, books: PaperBooks) -> None:
        open_orders = await books.open_orders()
        prices: dict[tuple[MarketType, str], Decimal] = {}
        for order, reduce_only in open_orders:
            key = (order.market_type, order.symbol)
            if key not in prices:
                prices[key] = (await self.fetch_ticker(*key)).last
            fill_price = self._fill_price(order.side, order.type, prices[key], order.price)
            if fill_price is None:
                continue
            assert order.price is not None
            market = await self.fetch_market(order.market_type, order.symbol)
            try:
                # A resting limit order fills at its own price once the market crosses it.
                await self._fill(books, market, order, order.price, reduce_only)
            except (InsufficientFunds, OrderRejected):
                await books.settle_order(
                    order.exchange_order_id, OrderStatus.CANCELED, ZERO, None, ZERO
                )

    async def _unrealized(self, position: PaperPosition) -> Decimal:
        last = (await self.fetch_ticker(MarketType.FUTURES, position.symbol)).last
        direction = 1 if position.side is PositionSide.LONG else -1
        return (last - position.entry_price) * position.amount * direction
