from __future__ import annotations

from domain.ports.clock import Clock
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork


class RotateVaultKeys:
    """Re-encrypt every stored secret under the newest vault key.

    Works in batches, one transaction each, so a large table never holds one
    long lock; safe to re-run after an interruption, because every stored
    token stays readable with the configured keys until it is rewritten.
    """

    def __init__(self, uow: UnitOfWork, vault: SecretVault, clock: Clock) -> None:
        self._uow = uow
        self._vault = vault
        self._clock = clock

    async def execute(self, batch_size: int = 200) -> int:
        rotated = 0
        last_id = 0
        while True:
            async with self._uow:
                batch = await self._uow.api_keys.list_after(last_id, batch_size)
                if not batch:
                    return rotated
                now = self._clock.now()
                for api_key in batch:
                    api_key.reencrypted(
                        self._vault.rotate(api_key.encrypted_api_key),
                        self._vault.rotate(api_key.encrypted_secret),
                        now,
                    )
                    await self._uow.api_keys.update_ciphertexts(api_key)
                await self._uow.commit()
            rotated += len(batch)
            assert batch[-1].id is not None
            last_id = batch[-1].id
