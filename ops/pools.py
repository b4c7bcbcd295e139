"""Pool statistics of the process that answers /ops/pools/, and what the workers share."""

import os
import socket
import time

from django.conf import settings
from django.core.cache import caches
from django.db import connections

from biomuseum import pagecache

from . import broker, deadlines, metrics
from .uptime import uptime_seconds

SQLITE_POOL = "SQLite has no connection pool: each thread opens its own connection to the database file."


def database_pool(*, open_pool: bool = True) -> dict:
    """psycopg_pool's get_stats() for this process, named for people; what applies on other databases."""
    connection = connections["default"]
    pool = None
    if connection.vendor == "postgresql":
        # Django opens the pool on first use of `.pool`; the metrics refresh only reads one that exists.
        exists = connection.alias in getattr(type(connection), "_connection_pools", {})
        pool = connection.pool if open_pool or exists else None
        if pool is None and connection.settings_dict["OPTIONS"].get("pool"):
            return {"vendor": connection.vendor, "pooled": False, "detail": "The pool has not been opened yet."}
    if pool is None:
        detail = SQLITE_POOL if connection.vendor == "sqlite" else "No connection pool is configured."
        return {"vendor": connection.vendor, "pooled": False, "detail": detail}
    stats = pool.get_stats()
    return {
        "vendor": connection.vendor,
        "pooled": True,
        "min": stats.get("pool_min", 0),
        "max": stats.get("pool_max", 0),
        "size": stats.get("pool_size", 0),
        "available": stats.get("pool_available", 0),
        "waiting": stats.get("requests_waiting", 0),
        "requests": stats.get("requests_num", 0),
        "errors": stats.get("requests_errors", 0) + stats.get("connections_errors", 0),
        "usage_ms": stats.get("usage_ms", 0),
        "stats": stats,
    }


def redis_pool() -> dict:
    """The cache's Redis connection pool in this process."""
    cache = caches["default"]
    client = getattr(cache, "client", None)
    if client is None or not hasattr(client, "get_client"):
        return {"configured": False, "detail": f"no Redis: the cache is in-process ({type(cache).__name__})"}
    pool = client.get_client(write=True).connection_pool
    return {
        "configured": True,
        "max": pool.max_connections,
        "created": getattr(pool, "_created_connections", 0),
        "in_use": len(getattr(pool, "_in_use_connections", ())),
        "available": len(getattr(pool, "_available_connections", ())),
    }


def celery_stats() -> dict:
    url = broker.broker_url()
    if not url:
        return {"broker": broker.NOT_CONFIGURED}
    timeout = settings.OPS_CHECK_TIMEOUT
    ping_timeout = settings.OPS_CELERY_PING_TIMEOUT
    result: dict = {"broker": url.split("://", 1)[0]}
    depths = deadlines.start("pools.queues", lambda: broker.queue_depths(timeout))
    workers = deadlines.start("pools.ping", lambda: broker.workers_answering(ping_timeout))
    # A ping takes its timeout plus connecting and polling; the whole section is bounded all the same.
    deadline = time.monotonic() + 2 * ping_timeout + timeout
    for name, future in (("queues", depths), ("workers", workers)):
        try:
            result[name] = deadlines.wait(future, deadline)
        except deadlines.DeadlineExceeded:
            result[name] = "timeout"
        except Exception as exc:
            result[name] = f"error: {type(exc).__name__}"
    return result


def page_cache_stats() -> dict:
    routes = page_cache_routes()
    hits = sum(route["hit"] for route in routes.values())
    misses = sum(route["miss"] for route in routes.values())
    totals = metrics.page_cache_totals()
    all_hits, all_misses = totals.get("hit", 0), totals.get("miss", 0)
    return {
        "this_worker": {"hits": hits, "misses": misses, "hit_ratio": _ratio(hits, misses), "routes": routes},
        "all_workers": {**totals, "hit_ratio": _ratio(all_hits, all_misses)},
        "generations": pagecache.generations(),
        # every process's bumps, and subscribed processes that did not acknowledge one in time
        "bumps": pagecache.bump_stats(),
        "last_bumps": _last_bumps(),  # per family: when, by whom, through what, a change or a purge
        "local_copies": pagecache.local_stats(),  # this worker's pages kept in memory (pagecache/local.py)
    }


def _last_bumps() -> dict | str:
    try:
        return pagecache.last_bumps()
    except Exception as error:  # statistics never fail a probe
        return f"error: {type(error).__name__}"


def page_cache_routes() -> dict[str, dict]:
    """This worker's page-cache outcomes by route, with each route's hit ratio."""
    by_route: dict[str, dict] = {}
    for (route, outcome), value in metrics.page_cache_counts().items():
        by_route.setdefault(route, {"hit": 0, "miss": 0, "bypass": 0, "render": 0})[outcome] = value
    for numbers in by_route.values():
        numbers["hit_ratio"] = _ratio(numbers["hit"], numbers["miss"])
    return by_route


def _ratio(hits: int, misses: int) -> float | None:
    return round(hits / (hits + misses), 4) if hits + misses else None


def worker() -> dict:
    return {
        "pid": os.getpid(),
        "gunicorn_worker": os.environ.get("OPS_WORKER_ID"),
        "host": socket.gethostname(),
        "uptime_seconds": uptime_seconds(),
        "metrics_multiprocess": metrics.multiprocess(),
    }


def snapshot() -> dict:
    return {
        "worker": worker(),
        "database": database_pool(),
        "redis": redis_pool(),
        "page_cache": page_cache_stats(),
        "celery": celery_stats(),
    }


# --- this process's pools in the Prometheus gauges ---

_pools_refreshed_at = 0.0


def refresh_pool_gauges(*, at_most_every: float = 0.0) -> None:
    """Copy this process's pool statistics into the gauges (on a Django request's end, and when scraped)."""
    global _pools_refreshed_at
    now = time.monotonic()
    if now - _pools_refreshed_at < at_most_every:
        return
    _pools_refreshed_at = now
    database = database_pool(open_pool=False)
    if database.get("pooled"):
        for state in ("size", "available", "waiting", "max"):
            metrics.DB_POOL.labels(state).set(database[state])
        metrics.DB_POOL_ERRORS.set(database["errors"])
    redis = redis_pool()
    if redis.get("configured"):
        for state in ("created", "in_use", "available", "max"):
            metrics.REDIS_POOL.labels(state).set(redis[state])


def refresh_on_request_finished(sender, **kwargs) -> None:
    refresh_pool_gauges(at_most_every=1.0)
