"""GET /portfolio: what the user's wallets hold, what their bots hold at the latest price,
and the profit their trades have realised."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from application.api_keys.exchange_account import decrypt_account, paper_account
from application.api_keys.manage_api_key import BALANCE_CURRENCY
from domain.api_keys.api_key import ApiKey
from domain.api_keys.errors import ApiKeyNotFound
from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import AccountBalance
from domain.exchange.errors import UnknownSymbol
from domain.exchange.market import MarketType
from domain.portfolio.portfolio import OpenPosition, PnlWindows, Portfolio, RealizedPnl
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork

Market = tuple[MarketType, str]


class GetPortfolio:
    """The user's balances (through their key, or the paper account on the paper
    exchange; ApiKeyNotFound on a real exchange without one), their bots' open positions
    priced with one ticker per market, and realised PnL today (since 00:00 UTC), over the
    last 7 and 30 days, and over all time.

    Exchange failures propagate as they are (ExchangeUnavailable, ...): a portfolio with
    made-up balances would be worse than none. Only a market the exchange no longer knows
    leaves its positions unpriced.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        vault: SecretVault,
        exchange: ExchangeGateway,
        clock: Clock,
        requires_api_key: bool,
    ) -> None:
        self._uow = uow
        self._vault = vault
        self._exchange = exchange
        self._clock = clock
        self._requires_api_key = requires_api_key

    async def execute(self, user_id: int) -> Portfolio:
        windows = PnlWindows.ending_at(self._clock.now())
        async with self._uow:
            api_key = await self._uow.api_keys.get_for_user(user_id)
            account = self._account(user_id, api_key)
            positions = await self._open_positions(user_id)
            trades = self._uow.trades
            realized = RealizedPnl(
                today=await trades.realized_pnl_since(user_id, windows.today),
                last_7_days=await trades.realized_pnl_since(user_id, windows.last_7_days),
                last_30_days=await trades.realized_pnl_since(user_id, windows.last_30_days),
                all_time=await trades.realized_pnl_since(user_id),
            )
        # The exchange is asked after the transaction: no connection is held meanwhile.
        markets = list(dict.fromkeys(p.market for p in positions))
        balance, prices = await self._read_exchange(account, markets)
        return Portfolio(
            balance=balance,
            positions=tuple(p.priced(prices[p.market]) for p in positions),
            realized_pnl=realized,
        )

    def _account(self, user_id: int, api_key: ApiKey | None) -> ExchangeAccount:
        if api_key is not None:
            return decrypt_account(self._vault, api_key)
        if self._requires_api_key:
            raise ApiKeyNotFound()
        return paper_account(user_id)

    async def _open_positions(self, user_id: int) -> list[OpenPosition]:
        positions: list[OpenPosition] = []
        for state in await self._uow.bot_states.list_in_position(user_id):
            config = await self._uow.bot_configs.get(user_id, state.bot_config_id)
            position = OpenPosition.of(config, state) if config is not None else None
            if position is not None:
                positions.append(position)
        return positions

    async def _read_exchange(
        self, account: ExchangeAccount, markets: list[Market]
    ) -> tuple[AccountBalance, dict[Market, Decimal | None]]:
        """The balance and one last price per market, asked at the same time."""
        try:
            async with asyncio.TaskGroup() as group:
                balance = group.create_task(self._exchange.fetch_balance(account, BALANCE_CURRENCY))
                prices = {market: group.create_task(self._last_price(market)) for market in markets}
        except ExceptionGroup as failed:
            # The group cancelled the other calls; the request answers for the first failure
            # (ExchangeUnavailable → 503), as one call would.
            raise failed.exceptions[0] from None
        return balance.result(), {market: task.result() for market, task in prices.items()}

    async def _last_price(self, market: Market) -> Decimal | None:
        try:
            ticker = await self._exchange.fetch_ticker(*market)
        except UnknownSymbol:
            return None  # a delisted market: its positions are shown without a price
        return ticker.last
