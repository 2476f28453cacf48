from __future__ import annotations

from collections.abc import Callable

from domain.ports.candle_store import CandleKey, CandleStore
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway

PAGE_SIZE = 1000

# Called with (candles stored so far, milliseconds of the range done, milliseconds in total).
Progress = Callable[[int, int, int], None]


class EnsureCandles:
    """Make the store hold every candle of a range: download only what was never
    downloaded, page by page through the exchange (whose client respects the
    exchange's rate limits), storing each page as it arrives so an interrupted
    download keeps what it got. Candles that have not closed yet are neither
    stored nor counted as downloaded."""

    def __init__(self, exchange: ExchangeGateway, store: CandleStore, clock: Clock) -> None:
        self._exchange = exchange
        self._store = store
        self._clock = clock

    async def execute(
        self,
        key: CandleKey,
        start_ms: int,
        end_ms: int,
        progress: Progress | None = None,
        now_ms: int | None = None,
    ) -> int:
        """`now_ms`: the exchange's time when known (a live bot), else our clock's."""
        step = key.timeframe.milliseconds
        if now_ms is None:
            now_ms = int(self._clock.now().timestamp() * 1000)
        # The newest candle that has closed opened at least one interval ago.
        end_ms = min(end_ms, (now_ms // step) * step - 1)
        if end_ms < start_ms:
            return 0
        missing = await self._store.missing_ranges(key, start_ms, end_ms)
        total = sum(end - start + 1 for start, end in missing)
        done = 0
        stored = 0
        for range_start, range_end in missing:
            since = range_start
            while since <= range_end:
                # No bigger page than the range needs: exchanges weigh a request by it.
                wanted = min(PAGE_SIZE, (range_end - since) // step + 1)
                page = await self._exchange.fetch_candles(
                    key.market_type, key.symbol, key.timeframe, since, wanted
                )
                page = [c for c in page if since <= c.open_time_ms <= range_end]
                if page:
                    stored += await self._store.upsert(key, page)
                    reached = page[-1].open_time_ms
                else:
                    reached = range_end
                await self._store.mark_covered(key, since, min(reached + step - 1, range_end))
                done += min(reached + step, range_end + 1) - since
                if progress is not None:
                    progress(stored, done, total)
                since = reached + step
        return stored
