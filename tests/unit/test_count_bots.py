from __future__ import annotations

from application.health.count_bots import CountBotsByStatus


class StoredCounts:
    def __init__(self, counts: dict[str, int]) -> None:
        self._counts = counts

    async def counts(self) -> dict[str, int]:
        return dict(self._counts)


async def test_every_status_is_counted_and_those_without_bots_are_zero() -> None:
    counts = await CountBotsByStatus(StoredCounts({"running": 3, "stopped": 1})).execute()

    assert counts == {"stopped": 1, "pending": 0, "running": 3, "waiting": 0, "paused": 0}
