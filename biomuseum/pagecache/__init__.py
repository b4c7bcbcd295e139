"""Whole-response cache for the public API, in front of Django and DRF.

`PageCacheApp` wraps the WSGI application. A hit is answered with one cache
round trip (the page, the generations it depends on and the public-read rate
counters travel in one Redis pipeline) and never builds a Django request,
runs middleware or enters DRF. A miss goes through Django as usual; the
response is stored on the way out when it is a public 200.

Freshness comes from generations, not TTLs: each content family ("organisms",
"posts") has a generation token, replaced once after each committed transaction
that changed what the public sees (see `content_changed`), in Redis or, without
Redis, in a file every local process maps (generations.py). An entry records the tokens it was rendered
under (read before rendering, so a write that lands mid-render still kills
it); when they differ from the current ones the entry is dead, on every
instance sharing the cache, at once. Entries that show posts also expire at
the next scheduled publication, so a scheduled post appears on time.

On Redis, each web process also answers repeats from its own copies, with no
round trip at all, while it holds a lease on the generation tokens (local.py).

If the cache is unreachable, pages are rendered uncached and rate limits fail
open for a short back-off period: slower, never broken.

The package, each module importing only those before it: routes (what is
cached, the key), tokens (where the generation tokens live), quota (rate limits
for local hits), local (per-process copies and their lease), generations
(bumps), entries (a stored page and its HTTP answer), stores (where entries
live), app (the WSGI wrapper), middleware (its side inside Django). The
statistics are the ops app's to gather: `ops.wsgi` counts the outcomes `app`
leaves in the environ, `/ops/pools/` reads `generations`, `bump_stats` and
`local_stats`, the admin's cache panel (ops/cachepanel.py) those and
`last_bumps`, `held_entries` and `process_stats`.
"""

import time

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache

from . import local
from .app import OUTCOMES, ROUTE, PageCacheApp
from .entries import Entry
from .generations import bump, bump_stats, content_changed, current_tokens, generations, last_bumps
from .middleware import PrivateAPIResponsesMiddleware
from .routes import PAGE_KEY_PREFIX, CachePolicy, cached_routes, families_of_key, route_for
from .tokens import FAMILIES, generation_key


def held_entries(*, budget: float = 1.0) -> dict:
    """Pages the cache holds, by the families they depend on (a page of two families counts in each),
    dead ones not yet evicted included. On Redis the keys are scanned for at most `budget` seconds:
    `complete` says whether every key was seen. Raises ConnectionError when Redis does not answer."""
    cache = caches["default"]
    by_family = dict.fromkeys(FAMILIES, 0)
    complete = True
    if isinstance(cache, RedisCache):
        client = cache.client.get_client(write=False)
        prefix = cache.client.make_key(PAGE_KEY_PREFIX)
        keys = client.scan_iter(match=f"{prefix}*", count=1000)
        deadline = time.monotonic() + budget
    elif isinstance(cache, LocMemCache):
        with cache._lock:
            keys = list(cache._cache)  # this process's memory: the web process's own pages
        deadline = None
    else:
        return {"by_family": None, "complete": False, "detail": f"{type(cache).__name__} keys cannot be listed"}
    for count, key in enumerate(keys):
        for family in families_of_key(key.decode() if isinstance(key, bytes) else key) or ():
            by_family[family] = by_family.get(family, 0) + 1
        if deadline is not None and count % 1000 == 999 and time.monotonic() > deadline:
            complete = False
            break
    return {"by_family": by_family, "complete": complete}


def process_stats() -> list[dict] | None:
    """Every web process's local copies and lease, as each last reported them (None without Redis)."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    return local.process_stats(cache.client.get_client(write=True), cache.client.make_key)


def local_stats() -> dict | None:
    """This process's local copies and their lease (None without Redis, or with local copies off)."""
    cache = caches["default"]
    layer = local.layer_for(cache) if isinstance(cache, RedisCache) else None
    return layer.stats() if layer else None


__all__ = [
    "FAMILIES",
    "OUTCOMES",
    "ROUTE",
    "CachePolicy",
    "Entry",
    "PageCacheApp",
    "PrivateAPIResponsesMiddleware",
    "bump",
    "bump_stats",
    "cached_routes",
    "content_changed",
    "current_tokens",
    "generation_key",
    "generations",
    "held_entries",
    "last_bumps",
    "local_stats",
    "process_stats",
    "route_for",
]
