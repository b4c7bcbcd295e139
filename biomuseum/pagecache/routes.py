"""Which paths are page-cached, under what policy, and the key of one page."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, get_resolver, resolve

from .. import languages
from ..queryparams import PAGINATION_PARAMS, PREVIEW_PARAM, is_tracking_param

ENTRY_FORMAT = 2  # part of every page key: a release that changes `Entry` never reads an older one
# A page's key names the families it depends on (before its digest), so the entries held can be counted by
# family (`held_entries`) without reading them.
PAGE_KEY_PREFIX = f"pc:page:{ENTRY_FORMAT}:"


def families_of_key(key: str) -> list[str] | None:
    """The families a page key (as `page_key` makes it, after any cache prefix) names; None for another key
    (a render's lock, say)."""
    _, found, rest = key.partition(PAGE_KEY_PREFIX)
    families, _, digest = rest.partition(":")
    return families.split("+") if found and families and len(digest) == 40 else None


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
    allowed.discard(PREVIEW_PARAM)  # a preview is never a page of the cache (app.py hands it to Django)
    return Route(name=match.url_name, policy=policy, allowed=frozenset(allowed))


def cached_routes() -> dict[str, tuple[str, ...]]:
    """Every page-cached route's URL name, with the families its pages depend on."""
    found: dict[str, tuple[str, ...]] = {}

    def walk(patterns) -> None:
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
                continue
            view_class = getattr(pattern.callback, "cls", None)
            actions = getattr(pattern.callback, "actions", None) or {}
            policy = getattr(view_class, "page_cache", {}).get(actions.get("get"))
            if policy is not None and pattern.name:
                found[pattern.name] = policy.families

    walk(get_resolver().url_patterns)
    return found


def request_scheme(environ: dict) -> str:
    """The scheme exactly as Django's `request.is_secure()` decides it (SECURE_PROXY_SSL_HEADER first)."""
    header = settings.SECURE_PROXY_SSL_HEADER
    if header:
        name, secure_value = header
        value = environ.get(name)
        if value is not None:
            return "https" if value.split(",", 1)[0].strip() == secure_value else "http"
    return environ.get("wsgi.url_scheme", "http")


DEFAULT_PORTS = {"http": "80", "https": "443"}


@lru_cache(maxsize=1)
def _public_port() -> str:
    public = urlsplit(settings.PUBLIC_BASE_URL)
    return str(public.port or DEFAULT_PORTS.get(public.scheme, ""))


@receiver(setting_changed)
def _forget_public_port(setting: str, **kwargs) -> None:
    if setting == "PUBLIC_BASE_URL":
        _public_port.cache_clear()


def canonical_host(environ: dict, scheme: str) -> str | None:
    """The Host as Django will render links with it, in one spelling per site: lowercased, the scheme's
    default port dropped. None (render uncached) for a host Django refuses, or a port this server is not
    reached on (each would be a cache entry of its own: an attacker could fill the cache with ports)."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        return None
    server_port = environ.get("SERVER_PORT")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{server_port}"  # as Django's get_host()
    return _host_decision(host, scheme, server_port, tuple(settings.ALLOWED_HOSTS))


@lru_cache(maxsize=1024)
def _host_decision(host: str, scheme: str, server_port: str | None, allowed_hosts: tuple[str, ...]) -> str | None:
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    if not port or port == DEFAULT_PORTS.get(scheme):
        return domain  # lowercased; an IPv6 address keeps its brackets
    if port not in (server_port, _public_port()):
        return None
    return f"{domain}:{port}"


def canonical_query(route: Route, environ: dict) -> list[tuple[str, str]] | None:
    """The parameters the page depends on, read as the view reads them: the last value of a repeated
    name, an empty one meaning not set (biomuseum/queryparams.py), tracking parameters left out (they are
    in no key, so they must not reach the body: its links are shared by everyone). None: not cacheable."""
    last: dict[str, str] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        if is_tracking_param(name):
            continue
        if name not in route.allowed:
            return None  # the view answers 400; nothing to cache
        last.pop(name, None)  # in the order of the values that count
        last[name] = value
    return [(name, value) for name, value in last.items() if value != ""]


def page_key(route: Route, environ: dict) -> str | None:
    """Host, path and allowed parameters in canonical order; None when the page must not come from the cache.

    Makes the environ what the key says, so Django renders exactly the page the key names: the canonical
    host, and the query without tracking parameters."""
    accept = environ.get("HTTP_ACCEPT", "")
    if accept and not ("*/*" in accept or "application/json" in accept or "application/*" in accept):
        return None  # DRF negotiates (and refuses) what we do not render
    kept = canonical_query(route, environ)
    scheme = request_scheme(environ)
    host = canonical_host(environ, scheme)
    if kept is None or host is None:
        return None
    spoken = ""
    if languages.LANG_PARAM in route.allowed:
        kept, spoken = _in_language(kept, environ)
        if kept is None:
            return None
    query = urlencode(kept)
    if query != environ.get("QUERY_STRING", ""):
        environ["QUERY_STRING"] = query
    environ["HTTP_HOST"] = host
    kept.sort(key=lambda pair: pair[0])  # stable: repeated parameters keep their order
    # Pages hold absolute links, so the scheme and host are part of what was rendered.
    raw = f"{scheme}://{host}{environ.get('PATH_INFO', '')}?{urlencode(kept)}#{spoken}"
    digest = hashlib.blake2b(raw.encode(), digest_size=20).hexdigest()
    return f"{PAGE_KEY_PREFIX}{'+'.join(route.policy.families)}:{digest}"


def _in_language(kept: list[tuple[str, str]], environ: dict) -> tuple[list[tuple[str, str]] | None, str]:
    """The query with `lang` as the supported language it resolves to, and that language (from Accept-Language
    when `lang` is absent): the key names the language the page speaks, never a raw header or tag, so any
    number of spellings make one entry per supported language. (None, ""): a malformed `lang` (a 400)."""
    given = dict(kept).get(languages.LANG_PARAM)
    try:
        language = languages.resolve(given, environ.get("HTTP_ACCEPT_LANGUAGE", ""))
    except languages.MalformedTag:
        return None, ""
    if given is not None:
        kept = [(name, language.tag if name == languages.LANG_PARAM else value) for name, value in kept]
    return kept, language.tag
