from __future__ import annotations

from dataclasses import dataclass, field

from domain.api_keys.api_key import ApiKey, check_credentials_format, mask_api_key
from domain.api_keys.errors import ApiKeyAlreadyExists
from domain.exchange.account import ExchangeAccount
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class CreateApiKeyCommand:
    user_id: int
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    label: str = ""


class CreateApiKey:
    """Store a user's exchange credentials after the exchange accepted them.

    One key per user. The key and secret are encrypted before they reach the
    database and are never returned; the response carries a masked key.
    """

    def __init__(
        self, uow: UnitOfWork, vault: SecretVault, exchange: ExchangeGateway, clock: Clock
    ) -> None:
        self._uow = uow
        self._vault = vault
        self._exchange = exchange
        self._clock = clock

    async def execute(self, command: CreateApiKeyCommand) -> ApiKey:
        check_credentials_format(command.api_key, command.api_secret)
        async with self._uow:
            if await self._uow.api_keys.get_for_user(command.user_id) is not None:
                raise ApiKeyAlreadyExists()
        await self._exchange.validate_credentials(
            ExchangeAccount(command.user_id, command.api_key, command.api_secret)
        )
        now = self._clock.now()
        api_key = ApiKey(
            user_id=command.user_id,
            label=command.label.strip(),
            api_key_masked=mask_api_key(command.api_key),
            encrypted_api_key=self._vault.encrypt(command.api_key),
            encrypted_secret=self._vault.encrypt(command.api_secret),
            is_valid=True,
            created_at=now,
            updated_at=now,
        )
        async with self._uow:
            api_key = await self._uow.api_keys.add(api_key)
            await self._uow.commit()
        return api_key
