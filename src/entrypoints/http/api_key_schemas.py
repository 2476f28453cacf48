from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from entrypoints.http.json_response import Money

Credential = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class CreateApiKeyRequest(msgspec.Struct, forbid_unknown_fields=True):
    api_key: Credential
    secret_key: Credential
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""


class ApiKeyResponse(msgspec.Struct):
    id: int
    label: str
    api_key_masked: str
    is_valid: bool
    created_at: datetime
    updated_at: datetime


class BalanceResponse(msgspec.Struct):
    spot_balance: Money
    futures_balance: Money
    total_balance: Money
    currency: str
