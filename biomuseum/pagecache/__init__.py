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

The package: routes (what is cached, the key), generations (tokens and bumps),
entries (a stored page and its HTTP answer), stores (where entries live), local
(per-process copies and their lease), app (the WSGI wrapper and statistics).
"""

from .app import PageCacheApp, PrivateAPIResponsesMiddleware, stats
from .entries import Entry
from .generations import FAMILIES, bump, bump_stats, content_changed, generation_key, generations
from .routes import CachePolicy, route_for

__all__ = [
    "FAMILIES",
    "CachePolicy",
    "Entry",
    "PageCacheApp",
    "PrivateAPIResponsesMiddleware",
    "bump",
    "bump_stats",
    "content_changed",
    "generation_key",
    "generations",
    "route_for",
    "stats",
]
