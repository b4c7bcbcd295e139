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
`local_stats`.
"""

from django.core.cache import caches
from django_redis.cache import RedisCache

from . import local
from .app import OUTCOMES, ROUTE, PageCacheApp
from .entries import Entry
from .generations import bump, bump_stats, content_changed, current_tokens, generations
from .middleware import PrivateAPIResponsesMiddleware
from .routes import CachePolicy, route_for
from .tokens import FAMILIES, generation_key


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
    "content_changed",
    "current_tokens",
    "generation_key",
    "generations",
    "local_stats",
    "route_for",
]
