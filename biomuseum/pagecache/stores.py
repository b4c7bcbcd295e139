"""Where entries live: any Django cache, or Redis in one round trip (page, generations, rate counters)."""

import threading

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django_redis.cache import RedisCache

from .. import ratelimits
from . import local
from .tokens import generation_key, token_file


class CacheStore:
    """Any Django cache (the in-process default), with the generation tokens in the machine's shared file
    (tokens.SharedTokenFile): pages kept in one process are checked against every process's writes."""

    def __init__(self, cache):
        self.cache = cache

    def lookup(self, request, key: str | None, families) -> tuple[object, dict, ratelimits.Decision]:
        """(the stored page or None, the families' tokens, the public-read verdict)"""
        warmup = request.META.get("biomuseum.warmup")
        decision = ratelimits.Decision(limited=False) if warmup else ratelimits.check(request, "public-read")
        return (self.cache.get(key) if key else None), self.tokens(families), decision

    def tokens(self, families) -> dict[str, int]:
        return token_file().read(families)

    def fetch(self, key: str, families) -> tuple[object, dict]:
        return self.cache.get(key), self.tokens(families)


class RedisStore(CacheStore):
    """django-redis: the rate counters, the page and its generations in one round trip (one Lua call).

    The counters are django-ratelimit's own keys and windows, so the public-read policy counts the same way
    whether a request is a hit or goes through Django. With local copies, the same call sets spare hits
    aside for this process (quota.LocalQuota): at most an eighth of what each window has left.
    """

    LOOKUP = """
    local counters = tonumber(ARGV[1])
    local out = {}
    for i = 1, counters do
        local limit = tonumber(ARGV[1 + counters + i])
        local most = tonumber(ARGV[1 + 2 * counters + i])
        local count = redis.call('INCR', KEYS[i])
        if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[1 + i]) end
        local spare = math.min(most, math.floor((limit - count) / 8))
        if spare > 0 then redis.call('INCRBY', KEYS[i], spare) else spare = 0 end
        out[2 * i - 1] = count
        out[2 * i] = spare
    end
    for i = counters + 1, #KEYS do
        out[counters + i] = redis.call('GET', KEYS[i])
    end
    return out
    """

    def __init__(self, cache):
        super().__init__(cache)
        self.client = cache.client
        self.script = self.client.get_client(write=True).register_script(self.LOOKUP)
        self.local = local.layer_for(cache)

    def lookup(self, request, key: str | None, families) -> tuple[object, dict, ratelimits.Decision]:
        generation_keys = [generation_key(family) for family in families]
        counted = settings.RATELIMIT_ENABLE and not request.META.get("biomuseum.warmup")
        windows = ratelimits.windows(request, "public-read") if counted else []
        names = [*generation_keys, *([key] if key else [])]
        make_key = self.client.make_key
        keys = [*(make_key(window.cache_key) for window in windows), *(make_key(name) for name in names)]
        quota = self.local.quota if self.local is not None else None
        args = [
            len(windows),
            *(window.period + 5 for window in windows),
            *(window.limit for window in windows),
            *(quota.to_reserve(window) if quota is not None else 0 for window in windows),
        ]
        values = self.script(keys=keys, args=args)
        counts, spares = values[0 : 2 * len(windows) : 2], values[1 : 2 * len(windows) : 2]
        if self.local is not None and windows:
            self.local.quota.granted(windows, counts, spares)
        decode = self.client.decode
        fetched = values[2 * len(windows) :]
        found = {name: decode(value) for name, value in zip(names, fetched, strict=True) if value}
        tokens = {family: found[generation_key(family)] for family in families if generation_key(family) in found}
        return found.get(key), tokens, ratelimits.decide(windows, [int(count) for count in counts])

    def tokens(self, families) -> dict[str, int]:
        found = self.cache.get_many([generation_key(family) for family in families])
        return {family: found[generation_key(family)] for family in families if generation_key(family) in found}

    def fetch(self, key: str, families) -> tuple[object, dict]:
        found = self.cache.get_many([key, *(generation_key(family) for family in families)])
        tokens = {family: found[generation_key(family)] for family in families if generation_key(family) in found}
        return found.get(key), tokens


_stores: dict[int, CacheStore] = {}
_thread = threading.local()
_caches_epoch = [0]  # moves when the CACHES setting does (tests): every thread looks its cache up again


def current_store() -> CacheStore:
    """One store per cache object (Django keeps one per thread), remembered per thread: looking the cache up
    in `caches` costs more than the rest of a local hit."""
    kept = getattr(_thread, "store", None)
    if kept is not None and kept[0] == _caches_epoch[0]:
        return kept[1]
    cache = caches["default"]
    store = _stores.get(id(cache))
    if store is None or store.cache is not cache:
        store = RedisStore(cache) if isinstance(cache, RedisCache) else CacheStore(cache)
        _stores[id(cache)] = store
    _thread.store = (_caches_epoch[0], store)
    return store


@receiver(setting_changed)
def _caches_changed(setting: str, **kwargs) -> None:
    if setting == "CACHES":
        _caches_epoch[0] += 1
