"""The WSGI wrapper: public GETs of page-cached routes from the cache, everything else to Django."""

import logging
import re
import time
from collections.abc import Iterable
from http import HTTPStatus
from types import SimpleNamespace

import orjson
from django.conf import settings
from django.http.cookie import parse_cookie

from .. import ratelimits, securityheaders
from ..queryparams import PREVIEW_PARAM
from ..wsgicalls import collect
from .entries import Entry, accepts_gzip
from .generations import has_unsaved_bumps, save_unsaved_bumps
from .routes import Route, page_key, request_scheme, route_for
from .stores import CacheStore, current_store
from .tokens import generation_key, new_token

logger = logging.getLogger("biomuseum.pagecache")

# What the page cache did with a request, left in the WSGI environ for the layer outside it (ops.wsgi), which
# counts it: the route's URL name, and the outcomes ("hit"; "miss", then "render" unless another request's
# rendering was waited for; "bypass": not looked up, the cache off or unreachable).
ROUTE = "biomuseum.pagecache.route"
PREVIEW_QUERY = PREVIEW_PARAM + "="
OUTCOMES = "biomuseum.pagecache.outcomes"
HIT, MISS, RENDERED, BYPASS = ("hit",), ("miss",), ("miss", "render"), ("bypass",)


class PageCacheApp:
    """Serves public GETs of page-cached API routes from the cache; everything else goes to Django.

    It runs inside ops.wsgi.RequestContextApp (biomuseum/wsgi.py composes them), which chooses the request
    id (in `HTTP_X_REQUEST_ID` by the time a request gets here), adds X-Request-ID to every response and
    counts what this layer leaves in the environ under ROUTE and OUTCOMES.
    """

    def __init__(self, application):
        self.application = application
        self.outage_until = 0.0

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD") or not path.startswith("/api/"):
            return self.application(environ, start_response)
        route = route_for(path)
        if route is None or "HTTP_AUTHORIZATION" in environ or _has_session(environ) or _previews(environ):
            # Django decides who the credentials name: staff answers are private, a scheme that is not
            # `Token` is refused, and a session that names nobody is anonymous and limited there (viewsets).
            return self.application(environ, start_response)
        if settings.SECURE_SSL_REDIRECT and request_scheme(environ) != "https":
            return self.application(environ, start_response)  # Django redirects to https

        environ[ROUTE] = route.name
        request_id = environ.get("HTTP_X_REQUEST_ID")
        key = page_key(route, environ) if settings.PAGE_CACHE_ENABLED else None
        now = time.time()
        environ[ratelimits.COUNTED_BY_PAGE_CACHE] = (
            True  # this request's public read is counted here (or fails open), not again in Django
        )
        if now < self.outage_until:
            environ[OUTCOMES] = BYPASS
            return self._render_uncached(environ, start_response, route, now, ratelimits.Decision(False))

        store = current_store()
        request = SimpleNamespace(META=environ, method=environ["REQUEST_METHOD"])
        local = getattr(store, "local", None)
        if key is not None and local is not None and not has_unsaved_bumps():
            kept = _from_local(local, route, key, request, now)
            if kept is not None:
                entry, decision = kept
                environ[OUTCOMES] = HIT
                extra = [*_extra_headers(environ, decision), ("X-Cache", "HIT")]
                return self._send(start_response, entry.respond(environ, now), extra)
        families = route.policy.families
        try:
            save_unsaved_bumps()
            entry, found, decision = store.lookup(request, key, families)
            tokens = self._tokens(store, found, families)
        except Exception:
            logger.warning("page cache unreachable; serving uncached for %ss", settings.PAGE_CACHE_OUTAGE_BACKOFF)
            self.outage_until = now + settings.PAGE_CACHE_OUTAGE_BACKOFF
            environ[OUTCOMES] = BYPASS
            return self._render_uncached(environ, start_response, route, now, ratelimits.Decision(False))
        limits = list(decision.headers().items())
        if decision.limited:
            return self._too_many(start_response, request_id, decision)
        if key is None:
            environ[OUTCOMES] = BYPASS
            return self._render_uncached(environ, start_response, route, now, decision, tokens)
        extra = _extra_headers(environ, decision)

        if isinstance(entry, Entry) and entry.fresh(tokens, now):
            if local is not None:
                local.put(key, entry)
            environ[OUTCOMES] = HIT
            return self._send(start_response, entry.respond(environ, now), [*extra, ("X-Cache", "HIT")])

        environ[OUTCOMES] = MISS
        lock_key = key + ":lock"
        owner = store.cache.add(lock_key, 1, timeout=30)
        # Not the owner: wait for the owner's page. The owner: the previous owner may have stored it
        # between our lookup and our lock, so look once more before rendering.
        entry = self._wait_for(store, key, families, patience=0 if owner else settings.PAGE_CACHE_LOCK_WAIT)
        if entry is not None:
            if owner:
                store.cache.delete(lock_key)
            if local is not None:
                local.put(key, entry)
            return self._send(start_response, entry.respond(environ, time.time()), [*extra, ("X-Cache", "HIT")])
        environ[OUTCOMES] = RENDERED
        try:
            return self._render_and_store(environ, start_response, route, store, key, tokens, now, extra, limits)
        finally:
            if owner:
                store.cache.delete(lock_key)

    def _render(self, environ) -> tuple[str, list[tuple[str, str]], bytes]:
        return collect(self.application, environ)

    def _render_uncached(self, environ, start_response, route, now, decision, tokens=None):
        """A public page rendered and not stored (cache off or unreachable, or a representation it does not
        keep), answered with the HTTP caching a stored page gets: Cache-Control, ETag, 304, Vary, gzip."""
        status, headers, body = self._render(environ)
        extra = _extra_headers(environ, decision)
        if not _storable(status, headers):
            return self._send(start_response, (status, headers, body), list(decision.headers().items()))
        gzip_wanted = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        entry = Entry.build(headers, body, (), _expires_at(route, now, tokens), compress=gzip_wanted)
        return self._send(start_response, entry.respond(environ, time.time()), extra)

    def _render_and_store(self, environ, start_response, route, store, key, tokens, now, extra, limits):
        status, headers, body = self._render(environ)
        if not _storable(status, headers):
            return self._send(start_response, (status, headers, body), limits)
        expires_at = _expires_at(route, now, tokens)
        entry = Entry.build(headers, body, tokens, expires_at)
        store.cache.set(key, entry, timeout=max(1, int(expires_at - now)))
        local = getattr(store, "local", None)
        if local is not None:
            local.put(key, entry)
        return self._send(start_response, entry.respond(environ, time.time()), [*extra, ("X-Cache", "MISS")])

    def _tokens(self, store: CacheStore, found: dict, families) -> tuple[int, ...]:
        missing = [family for family in families if family not in found]
        if missing:  # first use, or the cache was flushed: start new generations
            for family in missing:
                store.cache.add(generation_key(family), new_token(), timeout=None)
            found.update(store.tokens(missing))
            if any(family not in found for family in missing):
                raise ConnectionError("the cache did not keep a generation")
        return tuple(found[family] for family in families)

    def _wait_for(self, store: CacheStore, key: str, families, patience: float) -> Entry | None:
        """Look for a fresh page, again and again for up to `patience` seconds."""
        deadline = time.monotonic() + patience
        delay = 0.005
        while True:
            entry, found = store.fetch(key, families)
            tokens = tuple(found.get(family) for family in families)
            if isinstance(entry, Entry) and entry.fresh(tokens, time.time()):
                return entry
            if time.monotonic() + delay > deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    @staticmethod
    def _send(start_response, response: tuple[str, list, bytes], extra: Iterable[tuple[str, str]]):
        status, headers, body = response
        start_response(status, [*headers, *extra])
        return [body]

    @staticmethod
    def _too_many(start_response, request_id: str | None, decision: ratelimits.Decision) -> list[bytes]:
        envelope, limits = ratelimits.throttled(request_id, decision)
        body = orjson.dumps(envelope)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        headers += [("Cache-Control", "no-store"), *securityheaders.headers(), *limits.items()]
        start_response("429 Too Many Requests", headers)
        return [body]


# The policies' next change (`CachePolicy.expires`: the next scheduled publication), by route and the
# generation tokens it was read under. It changes only with the content of the route's families, whose write
# bumps their tokens, or when that time comes: a miss asks the database once per generation, not every time.
_upcoming: dict[tuple[str, tuple], float | None] = {}
UPCOMING_KEPT = 256


def _expires_at(route: Route, now: float, tokens: tuple | None = None) -> float:
    """The page's time to live, cut short by the next scheduled publication for pages that show posts.
    `tokens`: the route's generation tokens as read before rendering (None: unknown, ask the database)."""
    expires_at = now + settings.PAGE_CACHE_TIMEOUT
    if route.policy.expires is None:
        return expires_at
    memo = (route.name, tokens) if tokens is not None and None not in tokens else None
    upcoming = _upcoming.get(memo, 0.0) if memo is not None else 0.0
    if upcoming is not None and upcoming <= now:  # not known, or come: read it again
        found = route.policy.expires()
        upcoming = found.timestamp() if found is not None else None
        if memo is not None:
            if len(_upcoming) >= UPCOMING_KEPT:
                _upcoming.clear()
            _upcoming[memo] = upcoming
    return expires_at if upcoming is None else min(expires_at, upcoming)


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
    decision = local.quota.take(ratelimits.windows(request, "public-read"))
    return None if decision is None else (entry, decision)


def _extra_headers(environ: dict, decision: ratelimits.Decision) -> list[tuple[str, str]]:
    """Headers Django would have added to a page it rendered for this very request (X-Request-ID is the
    outer layer's)."""
    return [*decision.headers().items(), *_cors_headers(environ)]


def _previews(environ: dict) -> bool:
    """Carries a preview token: Django answers it, privately. (A spelling this misses, `pr%65view=`, is a
    parameter no key allows: rendered uncached, and its private answer is never stored.)"""
    return PREVIEW_QUERY in environ.get("QUERY_STRING", "")


def _has_session(environ: dict) -> bool:
    """Whether Django would see a session cookie: its own parsing (`sessionid =x` counts), not a substring."""
    cookies = environ.get("HTTP_COOKIE")
    return bool(cookies) and settings.SESSION_COOKIE_NAME in parse_cookie(cookies)


def _cors_headers(environ: dict) -> list[tuple[str, str]]:
    """What django-cors-headers would send for this origin (the same two settings)."""
    origin = environ.get("HTTP_ORIGIN")
    if origin and (
        origin in settings.CORS_ALLOWED_ORIGINS
        or any(re.match(pattern, origin) for pattern in settings.CORS_ALLOWED_ORIGIN_REGEXES)
    ):
        return [("Access-Control-Allow-Origin", origin)]
    return []


def _storable(status: str, headers: list[tuple[str, str]]) -> bool:
    names = {name.lower(): value for name, value in headers}
    cache_control = names.get("cache-control", "").lower()
    return (
        status.startswith(f"{HTTPStatus.OK.value} ")
        and "set-cookie" not in names
        and "private" not in cache_control
        and "no-store" not in cache_control
        and names.get("content-type", "").startswith("application/json")
    )
