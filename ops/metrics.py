"""Prometheus metrics, correct across gunicorn workers.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py provides one) makes every worker write
its samples to memory-mapped files that whichever worker answers /ops/metrics adds up. Without it
(manage.py, tests, a Celery worker) the metrics live in the process. Some values are not any one
process's to count and are read when scraped: Celery queue depths, and task outcomes counted in
the broker's Redis by the workers that ran them (see ops.broker).

Labels stay bounded: routes are URL names (never raw paths; "unmatched" for paths no view
matches, "static" for static files), methods the standard ones.
"""

import collections
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from functools import lru_cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Cache hits take well under a millisecond; renders a few to hundreds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


# Its _count series is the request count (a separate counter would cost every request another write).
HTTP_DURATION = Histogram(
    "biomuseum_http_request_duration_seconds",
    "Requests by route, method and status, and the time from receiving each to handing its response to the "
    "server (_count: requests answered).",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
PAGE_CACHE = Counter(
    "biomuseum_page_cache_requests",
    "Page-cache lookups by route and outcome: hit, miss (then rendered or waited for), bypass (not cacheable "
    "or cache down), render.",
    ["route", "outcome"],
)
CELERY_TASKS = Counter(
    "biomuseum_celery_tasks",
    "Celery task outcomes (success, failure, retry, revoked), by task.",
    ["task", "outcome"],
)
DB_POOL = Gauge(
    "biomuseum_db_pool_connections",
    "PostgreSQL pool of each live worker, summed: size (open), available (idle), waiting (requests queued "
    "for a connection), max.",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_ERRORS = Gauge(
    "biomuseum_db_pool_request_errors",
    "Requests for a pooled connection that failed (timeout, error), summed over live workers since they started.",
    multiprocess_mode="livesum",
)
REDIS_POOL = Gauge(
    "biomuseum_redis_pool_connections",
    "Cache's Redis connection pool of each live worker, summed: created, in_use, available, max.",
    ["state"],
    multiprocess_mode="livesum",
)

# Requests only queue what they observed (a deque append is atomic and takes no lock); `flush` records it
# into prometheus_client, whose multiprocess values take one process-wide lock per update: with many
# threads serving, that lock, taken three times per request, cost more than the rest of a cache hit. A
# background thread flushes every FLUSH_EVERY seconds, and every reader (a scrape, /ops/pools/) first.
FLUSH_EVERY = 0.05
_queued: deque = deque()
_flush_lock = threading.Lock()
_flusher_started = False
# .labels() validates and locks on every call; the children, once made, are kept here.
_request_children: dict[tuple[str, str, str], Histogram] = {}
_page_cache_children: dict[tuple[str, str], Counter] = {}
_page_cache_counts: collections.Counter = collections.Counter()  # this process's, for /ops/pools/


def record_request(route: str, method: str, status: str, seconds: float) -> None:
    _queued.append((route, method, status, seconds))
    if not _flusher_started:
        _start_flusher()


def count_page_cache(route: str, outcome: str) -> None:
    _queued.append((route, outcome))
    if not _flusher_started:
        _start_flusher()


def flush() -> None:
    """Record everything queued so far."""
    with _flush_lock:
        while True:
            try:
                item = _queued.popleft()
            except IndexError:
                return
            if len(item) == 4:
                key, seconds = item[:3], item[3]
                child = _request_children.get(key)
                if child is None:
                    child = _request_children[key] = HTTP_DURATION.labels(*key)
                child.observe(seconds)
            else:
                child = _page_cache_children.get(item)
                if child is None:
                    child = _page_cache_children[item] = PAGE_CACHE.labels(*item)
                child.inc()
                _page_cache_counts[item] += 1


def page_cache_counts() -> dict[tuple[str, str], int]:
    """This process's page-cache outcomes by (route, outcome)."""
    flush()
    with _flush_lock:
        return dict(_page_cache_counts)


def _start_flusher() -> None:
    global _flusher_started
    with _flush_lock:
        if _flusher_started:
            return
        _flusher_started = True
    threading.Thread(target=_flush_forever, name="metrics-flusher", daemon=True).start()


def _forked() -> None:
    global _flusher_started, _flush_lock
    _flusher_started = False  # threads do not survive a fork: a worker starts its own
    _flush_lock = threading.Lock()
    _queued.clear()  # the parent's observations are the parent's to record


os.register_at_fork(after_in_child=_forked)


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_EVERY)
        flush()


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


@lru_cache(maxsize=2048)
def route_name(path: str) -> str:
    """The URL name a path resolves to: a bounded label, resolved once per path."""
    from django.conf import settings
    from django.urls import resolve

    from biomuseum.errors import json_not_found

    if settings.STATIC_URL and path.startswith(settings.STATIC_URL):
        return "static"
    try:
        match = resolve(path)
    except Exception:  # Resolver404, or a path Django cannot even decode
        return "unmatched"
    if match.func is json_not_found:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class _ScrapeTimeCollector:
    """Values that belong to no process: read from the broker when scraped (bounded by a timeout)."""

    def collect(self) -> Iterable[Metric]:
        from . import broker

        depths = broker.queue_depths_bounded()
        if depths is not None:
            family = GaugeMetricFamily(
                "biomuseum_celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"]
            )
            for queue, depth in sorted(depths.items()):
                family.add_metric([queue], depth)
            yield family
        yield from _bump_families()
        outcomes = broker.task_outcomes_bounded()
        if outcomes:
            family = CounterMetricFamily(
                "biomuseum_celery_tasks", "Celery task outcomes (success, failure, retry, revoked), by task.",
                labels=["task", "outcome"],
            )  # fmt: skip
            for (task, outcome), count in sorted(outcomes.items()):
                family.add_metric([task, outcome], count)
            yield family


def _bump_families() -> Iterable[Metric]:
    from biomuseum.pagecache import bump_stats

    stats = bump_stats()
    if stats.get("bumps") is None:
        return
    bumps = CounterMetricFamily(
        "biomuseum_page_cache_bumps", "Generation bumps (one per committed transaction that changed public pages)."
    )
    bumps.add_metric([], stats["bumps"])
    yield bumps
    late = CounterMetricFamily(
        "biomuseum_page_cache_late_acks", "Subscribed processes that did not acknowledge a bump within the wait."
    )
    late.add_metric([], stats["late_acks"])
    yield late


class _Merged:
    """Families of the same name from several sources become one (samples with equal labels add up)."""

    def __init__(self, sources: list):
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        for source in self.sources:
            for family in source.collect():
                existing = merged.get(family.name)
                if existing is None:
                    merged[family.name] = family
                    continue
                index = {(s.name, tuple(sorted(s.labels.items()))): i for i, s in enumerate(existing.samples)}
                for sample in family.samples:
                    position = index.get((sample.name, tuple(sorted(sample.labels.items()))))
                    if position is None:
                        existing.samples.append(sample)
                    else:
                        kept = existing.samples[position]
                        existing.samples[position] = kept._replace(value=kept.value + sample.value)
        return list(merged.values())


def render() -> bytes:
    """The Prometheus text exposition of every worker's metrics plus the scrape-time values (the caller
    refreshes this process's pool gauges first: ops.pools.refresh_pool_gauges)."""
    flush()
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        local = registry
    else:
        local = REGISTRY
    return generate_latest(_Merged([local, _ScrapeTimeCollector()]))


def page_cache_totals() -> dict[str, int]:
    """Page-cache outcomes summed over every worker (from the metrics), for /ops/pools/."""
    totals: dict[str, int] = {}
    for (_, outcome), count in page_cache_outcomes().items():
        totals[outcome] = totals.get(outcome, 0) + count
    return totals


def page_cache_outcomes() -> dict[tuple[str, str], int]:
    """Page-cache outcomes by (route, outcome), summed over every worker since the server started."""
    flush()
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        families = registry.collect()
    else:
        families = PAGE_CACHE.collect()
    outcomes: dict[tuple[str, str], int] = {}
    for family in families:
        if family.name != "biomuseum_page_cache_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                item = (sample.labels["route"], sample.labels["outcome"])
                outcomes[item] = outcomes.get(item, 0) + int(sample.value)
    return outcomes
