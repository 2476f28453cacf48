"""Money leaves the API as JSON numbers with their exact decimal digits (the seed's
"number"), not as floats and not as strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Response
from litestar.enums import MediaType
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.serialization import default_serializer
from litestar.types import Serializer
from litestar.typing import FieldDefinition

T = TypeVar("T")

_ENCODER = msgspec.json.Encoder(enc_hook=default_serializer, decimal_format="number")

# Documented as a number in OpenAPI (DecimalAsNumberSchema), to match how it is encoded.
Money = Annotated[Decimal, msgspec.Meta(extra_json_schema={"examples": [1234.5]})]


class DecimalNumberResponse(Response[T]):
    """The app's response class; handlers that set headers return it directly."""

    def render(
        self, content: Any, media_type: str, enc_hook: Serializer = default_serializer
    ) -> bytes:
        if media_type == MediaType.JSON and not isinstance(content, bytes | str):
            if enc_hook is default_serializer:
                return _ENCODER.encode(content)
            return msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number").encode(content)
        return super().render(content, media_type, enc_hook)


class DecimalAsNumberSchema(OpenAPISchemaPlugin):
    """Documents every Decimal as a JSON number, as encoded, also inside `Money | None`
    (where Litestar would otherwise describe the Decimal member as a string)."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is Decimal

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        return Schema(type=OpenAPIType.NUMBER)
