"""Before a futures bot's first trade: the transfer it asks for (once per start) and its
leverage. A refusal the user must act on stops the bot with the exchange's words."""

from __future__ import annotations

from application.live.bot_halts import BotHalts, explain
from application.live.order_sender import TRANSIENT
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState
from domain.bots.errors import StaleBotState
from domain.errors import DomainError
from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import Wallet
from domain.exchange.market import MarketType
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.unit_of_work import UnitOfWork


class FuturesSetup:
    def __init__(self, uow: UnitOfWork, exchange: ExchangeGateway, halts: BotHalts) -> None:
        self._uow = uow
        self._exchange = exchange
        self._halts = halts

    async def prepare(self, account: ExchangeAccount, config: BotConfig, state: BotState) -> bool:
        """True when the bot may trade; False to try again later (or when it stopped)."""
        if config.market_type is not MarketType.FUTURES:
            return True
        try:
            if (
                config.auto_transfer_funds
                and config.transfer_amount
                and not state.funds_transferred
            ):
                await self._exchange.transfer(
                    account, "USDT", config.transfer_amount, Wallet.SPOT, Wallet.FUTURES
                )
                state.funds_transferred = True
                try:
                    async with self._uow:
                        await self._uow.bot_states.update(state)
                        await self._uow.commit()
                except StaleBotState:
                    return False  # stopped meanwhile; the transfer is done and was the start's
            await self._exchange.set_leverage(account, config.symbol, config.leverage)
        except TRANSIENT:
            return False
        except DomainError as exc:
            await self._halts.stop(state, f"{explain(exc)} (setting up {config.symbol} futures)")
            return False
        return True
