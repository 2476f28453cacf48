"""The business counters of `GET /metrics`, kept by the adapters that see the events.

With `PROMETHEUS_MULTIPROC_DIR` set (done by `tradebot serve --workers N`), the
prometheus client keeps every process's counts in that directory and the scrape
adds them up; a `tradebot worker` given the same directory is counted too.
"""

from __future__ import annotations

from prometheus_client import Counter, disable_created_metrics

# `*_created` series double the output and no dashboard of ours reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

ORDERS_SENT = Counter(
    "tradebot_orders_sent_total",
    "Orders the exchange accepted (bots and manual orders)",
    ["exchange", "market_type", "side"],
)
EXCHANGE_ERRORS = Counter(
    "tradebot_exchange_errors_total",
    "Exchange calls that failed, by the error they were mapped to",
    ["error"],
)
BACKTESTS_RUN = Counter(
    "tradebot_backtests_run_total",
    "Strategy simulations run: single backtests, and each parameter set of an optimisation",
    ["kind"],
)


def count_order_sent(exchange: str, market_type: str, side: str) -> None:
    ORDERS_SENT.labels(exchange, market_type, side).inc()


def count_exchange_error(error: BaseException) -> None:
    EXCHANGE_ERRORS.labels(type(error).__name__).inc()


def count_backtests(kind: str, simulations: int = 1) -> None:
    BACKTESTS_RUN.labels(kind).inc(simulations)
