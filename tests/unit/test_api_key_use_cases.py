"""API key use cases against in-memory fakes: validation first, encryption always."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from adapters.vault.fernet_vault import FernetVault
from application.api_keys.create_api_key import CreateApiKey, CreateApiKeyCommand
from application.api_keys.manage_api_key import DeleteApiKey, GetApiKey, GetBalance
from application.api_keys.rotate_vault_keys import RotateVaultKeys
from domain.api_keys.errors import ApiKeyAlreadyExists, ApiKeyNotFound
from domain.errors import InvalidInput
from domain.exchange.errors import ExchangeUnavailable, InvalidCredentials
from tests.support.fakes import FakeClock, FakeExchange, FakeUnitOfWork

KEY = "AbCdEfGhIjKlMnOpQrSt"
SECRET = "sEcReTsEcReTsEcReT99"


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def vault() -> FernetVault:
    return FernetVault([Fernet.generate_key().decode()])


@pytest.fixture
def exchange() -> FakeExchange:
    fake = FakeExchange()
    fake.valid_credentials.add((KEY, SECRET))
    return fake


def create(uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange) -> CreateApiKey:
    return CreateApiKey(uow, vault, exchange, FakeClock())


async def test_a_valid_key_is_stored_encrypted_and_returned_masked(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    api_key = await create(uow, vault, exchange).execute(
        CreateApiKeyCommand(user_id=1, api_key=KEY, api_secret=SECRET, label=" main ")
    )
    assert api_key.api_key_masked == "AbCd****QrSt"
    assert api_key.label == "main"
    stored = uow.committed_api_keys[api_key.id or 0]
    assert KEY not in stored.encrypted_api_key and SECRET not in stored.encrypted_secret
    assert vault.decrypt(stored.encrypted_secret) == SECRET
    assert SECRET not in repr(stored) and SECRET not in repr(
        CreateApiKeyCommand(user_id=1, api_key=KEY, api_secret=SECRET)
    )


async def test_a_second_key_for_the_same_user_is_refused_before_the_exchange_is_asked(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    command = CreateApiKeyCommand(user_id=1, api_key=KEY, api_secret=SECRET)
    await create(uow, vault, exchange).execute(command)
    exchange.calls.clear()
    with pytest.raises(ApiKeyAlreadyExists):
        await create(uow, vault, exchange).execute(command)
    assert exchange.calls == []


async def test_credentials_the_exchange_rejects_are_not_stored(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    with pytest.raises(InvalidCredentials):
        await create(uow, vault, exchange).execute(
            CreateApiKeyCommand(user_id=1, api_key=KEY, api_secret="wrong-secret-000000")
        )
    assert uow.committed_api_keys == {}


async def test_an_unreachable_exchange_stores_nothing(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    exchange.unavailable = True
    with pytest.raises(ExchangeUnavailable):
        await create(uow, vault, exchange).execute(
            CreateApiKeyCommand(user_id=1, api_key=KEY, api_secret=SECRET)
        )
    assert uow.committed_api_keys == {}


@pytest.mark.parametrize(("key", "secret"), [("", SECRET), (KEY, "has space"), ("é" * 20, SECRET)])
async def test_malformed_credentials_are_refused_without_calling_the_exchange(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange, key: str, secret: str
) -> None:
    with pytest.raises(InvalidInput):
        await create(uow, vault, exchange).execute(
            CreateApiKeyCommand(user_id=1, api_key=key, api_secret=secret)
        )
    assert exchange.calls == []


async def test_get_and_delete_see_only_the_users_own_key(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    await create(uow, vault, exchange).execute(
        CreateApiKeyCommand(user_id=1, api_key=KEY, api_secret=SECRET)
    )
    assert (await GetApiKey(uow).execute(1)).user_id == 1
    with pytest.raises(ApiKeyNotFound):
        await GetApiKey(uow).execute(2)
    with pytest.raises(ApiKeyNotFound):
        await DeleteApiKey(uow).execute(2)
    await DeleteApiKey(uow).execute(1)
    with pytest.raises(ApiKeyNotFound):
        await GetApiKey(uow).execute(1)


async def test_balance_is_read_with_the_decrypted_credentials(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    await create(uow, vault, exchange).execute(
        CreateApiKeyCommand(user_id=1, api_key=KEY, api_secret=SECRET)
    )
    balance = await GetBalance(uow, vault, exchange).execute(1)
    assert balance.total == balance.spot + balance.futures
    with pytest.raises(ApiKeyNotFound):
        await GetBalance(uow, vault, exchange).execute(2)


async def test_rotation_rewrites_every_key_in_batches_and_can_run_twice(
    uow: FakeUnitOfWork, exchange: FakeExchange
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    for user_id in range(1, 6):
        await create(uow, FernetVault([old]), exchange).execute(
            CreateApiKeyCommand(user_id=user_id, api_key=KEY, api_secret=SECRET)
        )
    both = FernetVault([new, old])
    assert await RotateVaultKeys(uow, both, FakeClock()).execute(batch_size=2) == 5
    assert uow.commits == 5 + 3
    assert await RotateVaultKeys(uow, both, FakeClock()).execute(batch_size=2) == 5
    only_new = FernetVault([new])
    for stored in uow.committed_api_keys.values():
        assert only_new.decrypt(stored.encrypted_secret) == SECRET
        assert only_new.decrypt(stored.encrypted_api_key) == KEY
