"""The Prometheus text of `GET /metrics`: this process's (or all processes') metrics,
plus gauges read from the database at scrape time."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


def render_metrics(bots_by_status: Mapping[str, int]) -> bytes:
    return generate_latest(_process_registry()) + generate_latest(_bots_registry(bots_by_status))


def _process_registry() -> CollectorRegistry:
    if MULTIPROCESS_DIR_VARIABLE not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def _bots_registry(bots_by_status: Mapping[str, int]) -> CollectorRegistry:
    # A metric family, not a Gauge: in multiprocess mode a Gauge would be written to
    # this process's files, and the counts are the database's, not any process's.
    bots = GaugeMetricFamily("tradebot_bots", "Bots by status", labels=["status"])
    for status, count in sorted(bots_by_status.items()):
        bots.add_metric([status], count)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed([bots]))
    return registry


class _Fixed(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families
