from __future__ import annotations

from domain.errors import Conflict


class IdempotencyKeyReused(Conflict):
    message = "This Idempotency-Key was used with a different request"


class RequestInProgress(Conflict):
    message = "A request with this Idempotency-Key is still in progress; retry it shortly"
