"""Whole-response cache for the public API, in front of Django and DRF.

`PageCacheApp` wraps the WSGI application. A hit is answered with one cache
round trip (the page, the generations it depends on and the public-read rate
counters travel in one Redis pipeline) and never builds a Django request,
runs middleware or enters DRF. A miss goes through Django as usual; the
response is stored on the way out when it is a public 200.

Freshness comes from generations, not TTLs: each content family ("organisms",
"posts") has a generation token in the cache, replaced after every committed
write (see `content_changed`). An entry records the tokens it was rendered
under (read before rendering, so a write that lands mid-render still kills
it); when they differ from the current ones the entry is dead, on every
instance sharing the cache, at once. Entries that show posts also expire at
the next scheduled publication, so a scheduled post appears on time.

If the cache is unreachable, pages are rendered uncached and rate limits fail
open for a short back-off period: slower, never broken.
"""

import gzip
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from http import HTTPStatus
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode

import orjson
from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.urls import Resolver404, resolve
from django.utils.http import parse_etags
from django_redis.cache import RedisCache

from ops.metrics import count_page_cache, page_cache_counts
from ops.requestids import ENVIRON_KEY, request_id_from

from . import localpages, ratelimits
from .queryparams import PAGINATION_PARAMS, is_tracking_param

logger = logging.getLogger("biomuseum.pagecache")

FAMILIES = ("organisms", "posts")
ENTRY_FORMAT = 2  # part of every page key: a release that changes `Entry` never reads an older one
VARY = "Accept, Accept-Encoding, Origin"
# Response headers that belong to one request, never to the cached page.
PER_REQUEST_HEADERS = frozenset(
    {
        "set-cookie", "vary", "content-length", "content-encoding", "date", "server", "etag", "cache-control",
        "x-request-id", "x-cache", "x-response-time", "retry-after", "ratelimit-limit", "ratelimit-remaining",
        "ratelimit-reset", "access-control-allow-origin", "access-control-allow-credentials",
        "access-control-expose-headers",
    }
)  # fmt: skip


def generation_key(family: str) -> str:
    return f"pc:gen:{family}"


@dataclass(frozen=True)
class CachePolicy:
    """What a view action declares to be page-cached (see `page_cache` on the viewsets)."""

    families: tuple[str, ...]
    params: type  # a QueryParamsSerializer: the parameters that may vary the page
    expires: Callable[[], datetime | None] | None = None  # when the content changes by itself


@dataclass(frozen=True)
class Route:
    name: str
    policy: CachePolicy
    allowed: frozenset[str]


@lru_cache(maxsize=4096)
def route_for(path: str) -> Route | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    view_class = getattr(match.func, "cls", None)
    actions = getattr(match.func, "actions", None) or {}
    policy = getattr(view_class, "page_cache", {}).get(actions.get("get"))
    if policy is None:
        return None
    allowed = set(policy.params().fields) | (PAGINATION_PARAMS if policy.params.allow_pagination else set())
    return Route(name=match.url_name, policy=policy, allowed=frozenset(allowed))


def page_key(route: Route, environ: dict) -> str | None:
    """Host, path and allowed parameters in canonical order; None when the page must not come from the cache."""
    accept = environ.get("HTTP_ACCEPT", "")
    if accept and not ("*/*" in accept or "application/json" in accept or "application/*" in accept):
        return None  # DRF negotiates (and refuses) what we do not render
    kept = []
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        if is_tracking_param(name):
            continue
        if name not in route.allowed:
            return None  # the view answers 400; nothing to cache
        kept.append((name, value))
    kept.sort(key=lambda pair: pair[0])  # stable: repeated parameters keep their order
    # Pages hold absolute links, so the scheme and host are part of what was rendered.
    origin = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
    raw = f"{origin}{environ.get('PATH_INFO', '')}?{urlencode(kept)}"
    return f"pc:page:{ENTRY_FORMAT}:" + hashlib.blake2b(raw.encode(), digest_size=20).hexdigest()


# --- generations ---


def _new_token() -> int:
    # Random, not a counter: a generation lost with a flushed cache can never come back and
    # revive an old entry. An int, because django-redis stores ints raw (no unpickling on a hit).
    return secrets.randbits(62)


_unsaved_bumps: set[str] = set()
_unsaved_lock = threading.Lock()


def bump(*families: str) -> bool:
    """Replace the families' generation tokens now. False if the cache did not take it (retried later)."""
    cache = caches["default"]
    tokens = {generation_key(family): _new_token() for family in families}
    cache.set_many(tokens, timeout=None)
    stored = cache.get_many(list(tokens))
    failed = {family for family in families if stored.get(generation_key(family)) != tokens[generation_key(family)]}
    with _unsaved_lock:
        _unsaved_bumps.difference_update(set(families) - failed)
        _unsaved_bumps.update(failed)
    if failed:
        logger.warning("page cache generations not saved, retrying on the next request: %s", sorted(failed))
    elif isinstance(cache, RedisCache):
        localpages.announce(cache.client.get_client(write=True))  # every process drops its copies first
    return not failed


def content_changed(*families: str) -> None:
    """Call inside a write: the families' pages die when (and only if) the transaction commits."""
    transaction.on_commit(lambda: bump(*families))


def generations() -> dict[str, int | None]:
    found = caches["default"].get_many([generation_key(family) for family in FAMILIES])
    return {family: found.get(generation_key(family)) for family in FAMILIES}


# --- statistics (per process; the ops app gathers them) ---


def _count(route: str, outcome: str) -> None:
    count_page_cache(route, outcome)  # this worker's counts, and (in /ops/metrics) every worker's


def stats() -> dict:
    counts = page_cache_counts()
    by_route: dict[str, dict] = {}
    for (route, outcome), value in counts.items():
        by_route.setdefault(route, {"hit": 0, "miss": 0, "bypass": 0, "render": 0})[outcome] = value
    for numbers in by_route.values():
        looked_up = numbers["hit"] + numbers["miss"]
        numbers["hit_ratio"] = round(numbers["hit"] / looked_up, 4) if looked_up else None
    cache = caches["default"]
    layer = localpages.layer_for(cache) if isinstance(cache, RedisCache) else None
    return {"routes": by_route, "generations": generations(), "local": layer.stats() if layer else None}


# --- entries ---


@dataclass(frozen=True)
class Entry:
    generations: tuple[int, ...]
    expires_at: float
    headers: tuple[tuple[str, str], ...]  # Content-Type and the page's own headers
    etag: str
    body: bytes
    gzip_body: bytes | None

    @classmethod
    def build(
        cls, headers: list[tuple[str, str]], body: bytes, tokens: tuple[int, ...], expires_at: float, compress=True
    ) -> "Entry":
        kept = tuple((name, value) for name, value in headers if name.lower() not in PER_REQUEST_HEADERS)
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        compress = compress and len(body) >= settings.GZIP_MIN_BYTES
        compressed = gzip.compress(body, compresslevel=6, mtime=0) if compress else None
        return cls(tokens, expires_at, kept, digest, body, compressed)

    def fresh(self, tokens: tuple[int, ...], now: float) -> bool:
        return self.generations == tokens and now < self.expires_at

    def respond(self, environ: dict, now: float) -> tuple[str, list[tuple[str, str]], bytes]:
        use_gzip = self.gzip_body is not None and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        etag = f'"{self.etag}-gz"' if use_gzip else f'"{self.etag}"'
        max_age = max(0, min(settings.PAGE_CACHE_MAX_AGE, int(self.expires_at - now)))
        headers = [
            ("ETag", etag),
            (
                "Cache-Control",
                f"public, max-age={max_age}, stale-while-revalidate={settings.PAGE_CACHE_STALE_WHILE_REVALIDATE}, "
                f"stale-if-error={settings.PAGE_CACHE_STALE_IF_ERROR}",
            ),
            ("Vary", VARY),
        ]
        if _matches(environ.get("HTTP_IF_NONE_MATCH"), etag):
            return "304 Not Modified", headers, b""
        body = self.gzip_body if use_gzip else self.body
        headers += [*self.headers, ("Content-Length", str(len(body)))]
        if use_gzip:
            headers.append(("Content-Encoding", "gzip"))
        return "200 OK", headers, b"" if environ["REQUEST_METHOD"] == "HEAD" else body


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.removeprefix("W/") for tag in parse_etags(if_none_match)]
    return "*" in tags or etag in tags


# --- where entries live ---


class CacheStore:
    """Any Django cache (the in-process default); a few round trips per lookup."""

    def __init__(self, cache):
        self.cache = cache

    def lookup(self, request, key: str | None, generation_keys: list[str]) -> tuple[dict, ratelimits.Decision]:
        warmup = request.META.get("biomuseum.warmup")
        decision = ratelimits.Decision(limited=False) if warmup else ratelimits.check(request, "public-read")
        return self.cache.get_many([*generation_keys, *([key] if key else [])]), decision


class RedisStore(CacheStore):
    """django-redis: the rate counters, the page and its generations in one round trip (one Lua call).

    The counters are django-ratelimit's own keys and windows, so the public-read
    policy counts the same way whether a request is a hit or goes through Django.
    """

    LOOKUP = """
    local counters = tonumber(ARGV[1])
    local out = {}
    for i = 1, counters do
        local by = tonumber(ARGV[counters + i + 1])
        out[i] = redis.call('INCRBY', KEYS[i], by)
        if out[i] == by then redis.call('EXPIRE', KEYS[i], ARGV[i + 1]) end
    end
    for i = counters + 1, #KEYS do
        out[i] = redis.call('GET', KEYS[i])
    end
    return out
    """

    def __init__(self, cache):
        super().__init__(cache)
        self.client = cache.client
        self.script = self.client.get_client(write=True).register_script(self.LOOKUP)
        self.local = localpages.layer_for(cache)

    def lookup(self, request, key: str | None, generation_keys: list[str]) -> tuple[dict, ratelimits.Decision]:
        counted = settings.RATELIMIT_ENABLE and not request.META.get("biomuseum.warmup")
        windows = ratelimits.windows(request, "public-read") if counted else []
        names = [*generation_keys, *([key] if key else [])]
        make_key = self.client.make_key
        keys = [*(make_key(window.cache_key) for window in windows), *(make_key(name) for name in names)]
        args = [len(windows), *(window.period + 5 for window in windows), *([1] * len(windows))]
        local = self.local.counts if self.local is not None and windows else None
        if local is not None and local.has_unsent(windows):
            # This process answered some of the client's requests itself (biomuseum.localpages) and has not
            # sent their counts yet: add them, with none on their way meanwhile, so the verdict is exact.
            with local.sending:
                values = self.script(keys=keys, args=args)
                counts = local.with_unsent(windows, values[: len(windows)])
        else:
            values = self.script(keys=keys, args=args)
            counts = values[: len(windows)]
        if local is not None:
            local.observe(windows, values[: len(windows)])
        decode = self.client.decode
        found = {name: decode(value) for name, value in zip(names, values[len(windows) :], strict=True) if value}
        return found, ratelimits.decide(windows, counts)


_stores: dict[int, CacheStore] = {}
_thread = threading.local()
_caches_epoch = [0]  # moves when the CACHES setting does (tests): every thread looks its cache up again


def _store() -> CacheStore:
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


# --- the WSGI wrapper ---


class PageCacheApp:
    """Serves public GETs of page-cached API routes from the cache; everything else goes to Django."""

    def __init__(self, application):
        self.application = application
        self.outage_until = 0.0

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD") or not path.startswith("/api/"):
            return self.application(environ, start_response)
        route = route_for(path)
        if route is None or "HTTP_AUTHORIZATION" in environ or _has_session(environ):
            return self.application(environ, start_response)  # Django marks authenticated answers private

        request_id = request_id_from(environ)
        environ["HTTP_X_REQUEST_ID"] = request_id  # Django's request-id middleware agrees with ours
        key = page_key(route, environ) if settings.PAGE_CACHE_ENABLED else None
        now = time.time()
        if now < self.outage_until:
            _count(route.name, "bypass")
            return self._render_uncached(environ, start_response, route, now, request_id, ratelimits.Decision(False))

        store = _store()
        request = SimpleNamespace(META=environ, method=environ["REQUEST_METHOD"])
        local = getattr(store, "local", None)
        if key is not None and local is not None and not _unsaved_bumps:
            kept = _from_local(local, route, key, request, now)
            if kept is not None:
                entry, decision = kept
                _count(route.name, "hit")
                extra = [*_extra_headers(environ, request_id, decision), ("X-Cache", "HIT")]
                return self._send(start_response, entry.respond(environ, now), extra)
        generation_keys = [generation_key(family) for family in route.policy.families]
        try:
            self._save_unsaved_bumps()
            found, decision = store.lookup(request, key, generation_keys)
            tokens = self._tokens(store, found, generation_keys)
        except Exception:
            logger.warning("page cache unreachable; serving uncached for %ss", settings.PAGE_CACHE_OUTAGE_BACKOFF)
            self.outage_until = now + settings.PAGE_CACHE_OUTAGE_BACKOFF
            _count(route.name, "bypass")
            return self._render_uncached(environ, start_response, route, now, request_id, ratelimits.Decision(False))
        limits = list(decision.headers().items())
        if decision.limited:
            return self._too_many(start_response, request_id, decision, limits)
        if key is None:
            _count(route.name, "bypass")
            return self._render_uncached(environ, start_response, route, now, request_id, decision)
        extra = _extra_headers(environ, request_id, decision)

        entry = found.get(key)
        if isinstance(entry, Entry) and entry.fresh(tokens, now):
            if local is not None:
                local.put(key, entry)
            _count(route.name, "hit")
            return self._send(start_response, entry.respond(environ, now), [*extra, ("X-Cache", "HIT")])

        _count(route.name, "miss")
        lock_key = key + ":lock"
        owner = store.cache.add(lock_key, 1, timeout=30)
        # Not the owner: wait for the owner's page. The owner: the previous owner may have stored it
        # between our lookup and our lock, so look once more before rendering.
        entry = self._wait_for(store, key, generation_keys, patience=0 if owner else settings.PAGE_CACHE_LOCK_WAIT)
        if entry is not None:
            if owner:
                store.cache.delete(lock_key)
            if local is not None:
                local.put(key, entry)
            return self._send(start_response, entry.respond(environ, time.time()), [*extra, ("X-Cache", "HIT")])
        _count(route.name, "render")
        try:
            return self._render_and_store(environ, start_response, route, store, key, tokens, now, extra, limits)
        finally:
            if owner:
                store.cache.delete(lock_key)

    # --- pieces ---

    def _render(self, environ) -> tuple[str, list[tuple[str, str]], bytes]:
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.application(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return captured["status"], captured["headers"], body

    def _render_uncached(self, environ, start_response, route, now, request_id, decision):
        """A public page rendered and not stored (cache off or unreachable, or a representation it does not
        keep), answered with the HTTP caching a stored page gets: Cache-Control, ETag, 304, Vary, gzip."""
        status, headers, body = self._render(environ)
        extra = _extra_headers(environ, request_id, decision)
        if not _storable(status, headers):
            return self._send(start_response, (status, headers, body), list(decision.headers().items()))
        gzip_wanted = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        entry = Entry.build(headers, body, (), _expires_at(route, now), compress=gzip_wanted)
        return self._send(start_response, entry.respond(environ, time.time()), extra)

    def _render_and_store(self, environ, start_response, route, store, key, tokens, now, extra, limits):
        status, headers, body = self._render(environ)
        if not _storable(status, headers):
            return self._send(start_response, (status, headers, body), limits)
        expires_at = _expires_at(route, now)
        entry = Entry.build(headers, body, tokens, expires_at)
        store.cache.set(key, entry, timeout=max(1, int(expires_at - now)))
        local = getattr(store, "local", None)
        if local is not None:
            local.put(key, entry)
        return self._send(start_response, entry.respond(environ, time.time()), [*extra, ("X-Cache", "MISS")])

    def _tokens(self, store: CacheStore, found: dict, generation_keys: list[str]) -> tuple[int, ...]:
        missing = [name for name in generation_keys if name not in found]
        if missing:  # first use, or the cache was flushed: start new generations
            for name in missing:
                store.cache.add(name, _new_token(), timeout=None)
            found.update(store.cache.get_many(missing))
            if any(name not in found for name in missing):
                raise ConnectionError("the cache did not keep a generation")
        return tuple(found[name] for name in generation_keys)

    def _wait_for(self, store: CacheStore, key: str, generation_keys: list[str], patience: float) -> Entry | None:
        """Look for a fresh page, again and again for up to `patience` seconds."""
        deadline = time.monotonic() + patience
        delay = 0.005
        while True:
            found = store.cache.get_many([key, *generation_keys])
            entry = found.get(key)
            tokens = tuple(found.get(name) for name in generation_keys)
            if isinstance(entry, Entry) and entry.fresh(tokens, time.time()):
                return entry
            if time.monotonic() + delay > deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    @staticmethod
    def _save_unsaved_bumps() -> None:
        with _unsaved_lock:
            pending = set(_unsaved_bumps)
        if pending and not bump(*pending):
            raise ConnectionError("generations could not be saved")

    @staticmethod
    def _send(start_response, response: tuple[str, list, bytes], extra: Iterable[tuple[str, str]]):
        status, headers, body = response
        start_response(status, [*headers, *extra])
        return [body]

    @staticmethod
    def _too_many(start_response, request_id: str, decision: ratelimits.Decision, extra: list) -> list[bytes]:
        retry_after = ratelimits.retry_after_seconds(decision)
        body = orjson.dumps(
            {
                "error": {"status": 429, "code": "throttled", "message": "Too many requests. Retry later."},
                "request_id": request_id,
                "retry_after": retry_after,
            }
        )
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        headers += [(name, value) for name, value in extra if name != "Retry-After"]
        start_response("429 Too Many Requests", [*headers, ("Retry-After", str(retry_after))])
        return [body]


def _expires_at(route: Route, now: float) -> float:
    """The page's time to live, cut short by the next scheduled publication for pages that show posts."""
    expires_at = now + settings.PAGE_CACHE_TIMEOUT
    if route.policy.expires is not None:
        upcoming = route.policy.expires()
        if upcoming is not None:
            expires_at = min(expires_at, upcoming.timestamp())
    return expires_at


def _from_local(local, route: Route, key: str, request, now: float):
    """(entry, rate decision) when this process may answer from its own copy, else None."""
    tokens = local.tokens()
    if tokens is None:
        return None
    entry = local.get(key)
    if entry is None or not entry.fresh(tuple(tokens.get(family) for family in route.policy.families), now):
        return None
    if not settings.RATELIMIT_ENABLE or request.META.get("biomuseum.warmup"):
        return entry, ratelimits.Decision(limited=False)
    decision = local.counts.take(ratelimits.windows(request, "public-read"))
    return None if decision is None else (entry, decision)


def _extra_headers(environ: dict, request_id: str, decision: ratelimits.Decision) -> list[tuple[str, str]]:
    """Headers Django would have added to a page it rendered for this very request (ops.wsgi adds
    X-Request-ID itself when it wraps this application)."""
    extra = [*decision.headers().items(), *_cors_headers(environ)]
    if ENVIRON_KEY not in environ:
        extra.append(("X-Request-ID", request_id))
    return extra


def _has_session(environ: dict) -> bool:
    return f"{settings.SESSION_COOKIE_NAME}=" in environ.get("HTTP_COOKIE", "")


def _cors_headers(environ: dict) -> list[tuple[str, str]]:
    origin = environ.get("HTTP_ORIGIN")
    if origin and origin in settings.CORS_ALLOWED_ORIGINS:
        return [("Access-Control-Allow-Origin", origin)]
    return []


def _storable(status: str, headers: list[tuple[str, str]]) -> bool:
    names = {name.lower(): value for name, value in headers}
    return (
        status.startswith(f"{HTTPStatus.OK.value} ")
        and "set-cookie" not in names
        and names.get("content-type", "").startswith("application/json")
    )


class PrivateAPIResponsesMiddleware:
    """Answers to authenticated API requests are `private, no-store`: no shared cache may keep them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path_info.startswith("/api/") and user is not None and user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        return response
