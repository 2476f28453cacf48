"""Secrets at rest: Fernet round trips, rotation to the newest key, and masked keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from adapters.vault.fernet_vault import FernetVault
from domain.api_keys.api_key import mask_api_key
from domain.api_keys.errors import SecretUnreadable

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@given(st.text())
def test_any_text_survives_an_encryption_round_trip(plaintext: str) -> None:
    vault = FernetVault([NEW_KEY])
    token = vault.encrypt(plaintext)
    assert vault.decrypt(token) == plaintext


def test_rotation_moves_old_secrets_to_the_newest_key() -> None:
    token = FernetVault([OLD_KEY]).encrypt("api-secret-123")
    both = FernetVault([NEW_KEY, OLD_KEY])
    assert both.decrypt(token) == "api-secret-123"
    rotated = both.rotate(token)
    assert FernetVault([NEW_KEY]).decrypt(rotated) == "api-secret-123"
    with pytest.raises(SecretUnreadable):
        FernetVault([NEW_KEY]).decrypt(token)


def test_a_token_no_key_opens_is_unreadable_not_a_crash() -> None:
    with pytest.raises(SecretUnreadable):
        FernetVault([NEW_KEY]).decrypt("not-a-token")


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=300))
def test_a_masked_key_never_reveals_more_than_eight_characters(api_key: str) -> None:
    masked = mask_api_key(api_key)
    visible = [c for c in masked if c != "*"]
    assert len(visible) <= 8
    if len(api_key) > 8:
        assert masked == f"{api_key[:4]}****{api_key[-4:]}"
    else:
        assert set(masked) == {"*"}
