from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter, JSONBody, SkipValidation

from application.orders.place_manual_order import PlaceManualOrder, PlaceOrderCommand
from domain.orders.idempotency_key import HEADER, MAX_KEY_LENGTH, IdempotencyKey
from domain.orders.order_ticket import OrderTicket
from domain.users.user import User
from entrypoints.http.dependencies import provide_current_user, user_use_case
from entrypoints.http.errors import error_responses
from entrypoints.http.order_schemas import OrderResponse, PlaceOrderRequest, order_response
from entrypoints.http.request_fields import check_amounts, provided_fields

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=rf"^[\x20-\x7E]{{1,{MAX_KEY_LENGTH}}}$",
        description=(
            "Optional, 1-128 printable ASCII characters, per user, valid for 24 hours. "
            "The same key and body return the stored order (201) and never place a second "
            "one; the same key with another body is a 409."
        ),
        required=False,
    ),
]

DESCRIPTION = """\
Places an order on the exchange through the user's API key (`api_key_id`, default: the
user's key; on the paper exchange a user without a key trades the paper account).

The amount is rounded down to the market's step and a limit price to the nearest tick;
an order that is then below the market's minimum amount or notional is refused before
anything is sent (400, the market's limits in `details`). A filled order is recorded as
a trade of the user (`bot_config_id` null).

`Idempotency-Key`: the order is recorded under (user, key) before it is sent, with a client
order id fixed at that moment, so retries never place a second order. The same key with
the same body answers 201 with the stored order; with another body, 409. A request that
finds the key in flight waits up to 10 s for the first one's answer, then answers 409
("still in progress"). A request that failed before or at the exchange (400) frees its key;
after a 503 or 429 the same key resumes the same order. Keys expire 24 h after first use.
"""


class OrderController(Controller):
    path = "/api/v1/orders"
    tags = ["Orders"]
    security = [{"BearerToken": []}]
    dependencies = {"current_user": Provide(provide_current_user)}

    @post(
        "/",
        status_code=201,
        summary="Place a manual order",
        description=DESCRIPTION,
        dependencies={"place_manual_order": user_use_case("place_manual_order")},
        responses=error_responses(400, 401, 409, 429, 503),
    )
    async def place(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        data: JSONBody[PlaceOrderRequest],
        place_manual_order: NamedDependency[SkipValidation[PlaceManualOrder]],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> OrderResponse:
        assert current_user.id is not None
        fields = provided_fields(data)
        check_amounts(fields)
        ticket = OrderTicket(**fields)
        key = IdempotencyKey(idempotency_key) if idempotency_key is not None else None
        order = await place_manual_order.execute(
            PlaceOrderCommand(user_id=current_user.id, ticket=ticket, idempotency_key=key)
        )
        return order_response(order)
