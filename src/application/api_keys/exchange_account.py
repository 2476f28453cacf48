from __future__ import annotations

from domain.api_keys.api_key import ApiKey
from domain.api_keys.errors import ApiKeyNotFound
from domain.exchange.account import ExchangeAccount
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork


async def load_api_key(uow: UnitOfWork, user_id: int) -> ApiKey:
    async with uow:
        api_key = await uow.api_keys.get_for_user(user_id)
    if api_key is None:
        raise ApiKeyNotFound()
    return api_key


def decrypt_account(vault: SecretVault, api_key: ApiKey) -> ExchangeAccount:
    """The plaintext credentials, for the one exchange call that needs them."""
    return ExchangeAccount(
        user_id=api_key.user_id,
        api_key=vault.decrypt(api_key.encrypted_api_key),
        api_secret=vault.decrypt(api_key.encrypted_secret),
    )


def paper_account(user_id: int) -> ExchangeAccount:
    """The paper exchange's account for a user without a stored key."""
    name = f"paperuser{user_id:08d}"
    return ExchangeAccount(user_id=user_id, api_key=name, api_secret=name)
