from __future__ import annotations

from application.api_keys.exchange_account import decrypt_account, load_api_key
from domain.api_keys.api_key import ApiKey
from domain.api_keys.errors import ApiKeyNotFound
from domain.exchange.balance import AccountBalance
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork

BALANCE_CURRENCY = "USDT"


class GetApiKey:
    """The user's key, masked."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int) -> ApiKey:
        return await load_api_key(self._uow, user_id)


class DeleteApiKey:
    """Delete the user's key; the bot configurations that use it go with it."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int) -> None:
        async with self._uow:
            if not await self._uow.api_keys.delete_for_user(user_id):
                raise ApiKeyNotFound()
            await self._uow.commit()


class GetBalance:
    """Spot and USD-M futures wallet values in USDT, read from the exchange."""

    def __init__(self, uow: UnitOfWork, vault: SecretVault, exchange: ExchangeGateway) -> None:
        self._uow = uow
        self._vault = vault
        self._exchange = exchange

    async def execute(self, user_id: int) -> AccountBalance:
        account = decrypt_account(self._vault, await load_api_key(self._uow, user_id))
        return await self._exchange.fetch_balance(account, BALANCE_CURRENCY)
