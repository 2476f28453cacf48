"""Money leaves the API as JSON numbers with their exact decimal digits (the seed's
"number"), not as floats and not as strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Response
from litestar.enums import MediaType
from litestar.serialization import default_serializer
from litestar.types import Serializer

_ENCODER = msgspec.json.Encoder(enc_hook=default_serializer, decimal_format="number")

# Documented as a number in OpenAPI, to match how it is encoded.
Money = Annotated[
    Decimal, msgspec.Meta(extra_json_schema={"extra": {"type": "number"}, "examples": [1234.5]})
]


class DecimalNumberResponse(Response[Any]):
    def render(
        self, content: Any, media_type: str, enc_hook: Serializer = default_serializer
    ) -> bytes:
        if media_type == MediaType.JSON and not isinstance(content, bytes | str):
            if enc_hook is default_serializer:
                return _ENCODER.encode(content)
            return msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number").encode(content)
        return super().render(content, media_type, enc_hook)
