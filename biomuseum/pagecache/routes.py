"""Which paths are page-cached, under what policy, and the key of one page."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

from django.urls import Resolver404, resolve

from ..queryparams import PAGINATION_PARAMS, is_tracking_param

ENTRY_FORMAT = 2  # part of every page key: a release that changes `Entry` never reads an older one


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
