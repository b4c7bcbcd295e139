"""The cache panel: the page cache as the curators' admin shows it, and its two actions.

Per family: its generation, its last bump (when, who, through what, a change or a purge), hits and misses
since the server started (every worker's), and the entries held; per web process: its local copies and
their lease; and the warm-ups, with their reports. Every figure is read where it lives (pagecache, the
metrics, the CacheWarmup rows), and a section whose source does not answer says so instead of failing the
page: with Redis down the panel shows what it still knows.
"""

import logging
from datetime import UTC, datetime

from django.core.cache import caches
from django.db import transaction
from django_redis.cache import RedisCache

from biomuseum import pagecache

from . import metrics, warmup
from .models import CacheWarmup
from .tasks import warm_cache_job

logger = logging.getLogger("ops.cachepanel")

RECENT_WARMUPS = 10
# A web process whose last report is older than this (it reports every second) holds no lease it can prove.
REPORT_LATE = 3.0


def snapshot() -> dict:
    reachable, detail = cache_backend()
    return {
        "backend": detail,
        "reachable": reachable,
        "families": families(reachable),
        "processes": processes(reachable),
        "bumps": pagecache.bump_stats() if reachable else None,
        "warmups": list(CacheWarmup.objects.select_related("requested_by")[:RECENT_WARMUPS]),
        "warmup_in_progress": warmup.in_progress(),
        "shared": warmup.cache_is_shared(),
    }


def cache_backend() -> tuple[bool, str]:
    """(whether the cache answers, what it is)."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return True, "each process's own memory (no REDIS_URL): every web process keeps its own pages"
    try:
        cache.client.get_client(write=True).ping()
    except Exception as error:
        return False, f"Redis, which does not answer ({type(error).__name__}): pages are rendered uncached"
    return True, "Redis, shared by every web process"


def families(reachable: bool) -> list[dict]:
    routes = pagecache.cached_routes()
    counted: dict[str, dict[str, int]] = {family: {"hit": 0, "miss": 0} for family in pagecache.FAMILIES}
    for (route, outcome), count in metrics.page_cache_outcomes().items():
        for family in routes.get(route, ()):
            if outcome in counted[family]:
                counted[family][outcome] += count
    tokens = pagecache.generations() if reachable else {}
    bumps = _read(pagecache.last_bumps, {}) if reachable else {}
    held = _read(pagecache.held_entries, {}) if reachable else {}
    rows = []
    for family in pagecache.FAMILIES:
        hits, misses = counted[family]["hit"], counted[family]["miss"]
        bump = bumps.get(family)
        rows.append({
            "name": family,
            "generation": f"{tokens[family]:016x}" if tokens.get(family) is not None else None,
            "last_bump": {**bump, "at": datetime.fromtimestamp(bump["at"], UTC)} if bump else None,
            "hits": hits,
            "misses": misses,
            "hit_percent": round(100 * hits / (hits + misses), 1) if hits + misses else None,
            "held": (held.get("by_family") or {}).get(family),
            "held_complete": held.get("complete", False),
        })  # fmt: skip
    return rows


def processes(reachable: bool) -> list[dict] | None:
    """Every web process's local copies (None: there are none without Redis)."""
    if not isinstance(caches["default"], RedisCache):
        return None
    found = _read(pagecache.process_stats, []) if reachable else []
    for process in found:
        process["lease"] = process["lease"] and process["seen"] <= REPORT_LATE
    return found


def _read(source, fallback):
    try:
        return source()
    except Exception as error:  # a statistic never fails the page
        logger.warning("cache panel: %s failed: %s", source.__name__, error)
        return fallback


def request_warmup(user) -> tuple[CacheWarmup, bool]:
    """(the warm-up, whether it is new): one at a time; a new one runs where it reaches the visitors' cache
    (ops/warmup.py), a worker's job queued once the row is committed (a broker that is down leaves it waiting
    for the schedule's warm-up, which takes it)."""
    with transaction.atomic():
        waiting = warmup.in_progress()
        if waiting is not None:
            return waiting, False
        job = CacheWarmup.objects.create(requested_by=user)
        if warmup.cache_is_shared():
            warm_cache_job.delay_on_commit(job.pk)
        else:
            transaction.on_commit(lambda: warmup.in_this_process(job.pk))
    return job, True


def purge(family: str) -> bool:
    """Every page of the family dies now, on every process (a bump, recorded as a purge by whoever asked).
    False when Redis did not take it (it is retried on the next request, as any bump)."""
    taken = pagecache.bump(family, purge=True)
    logger.info("page cache purged", extra={"family": family, "taken": taken})
    return taken
