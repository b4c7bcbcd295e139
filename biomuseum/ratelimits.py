"""The rate-limit policy table, in one place, and how a limit is answered.

Counting is django-ratelimit's (fixed windows in the shared cache, so every
gunicorn instance counts together). Each policy says what happens when the
cache cannot count (Redis down): public reads fail open (an outage must not
become an API outage); login attempts fail closed (an outage must not become
a window for password guessing; curators retry once Redis is back).
"""

import ipaddress
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from django_ratelimit.core import get_usage
from rest_framework.exceptions import Throttled

from . import ratewindows
from .clientip import client_ip
from .envelopes import throttled_envelope

# Set on the environ of a request whose public read the page cache counted (or let through while the cache is
# unreachable): Django does not count it again.
COUNTED_BY_PAGE_CACHE = "biomuseum.public_read_counted"


@dataclass(frozen=True)
class Policy:
    key: str  # a django-ratelimit key: "ip", "user", "post:username", or a dotted callable
    rates: tuple[str, ...]
    fail_open: bool
    methods: tuple[str, ...] = field(default=("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"))


@lru_cache(maxsize=1)
def policies() -> dict[str, Policy]:
    """Built once from settings (and again whenever a test changes them)."""
    rates = settings.RATELIMITS
    return {
        "public-read": Policy(key="ip", rates=rates["public-read"], fail_open=True, methods=("GET", "HEAD")),
        "login-ip": Policy(key="ip", rates=rates["login-ip"], fail_open=False, methods=("POST",)),
        # Per address and username: five wrong passwords from one place lock out that place, not the
        # curator everywhere; "login-account" is the slower backoff for guesses spread over many addresses.
        "login-username": Policy(
            key="biomuseum.ratelimits.address_and_username_key",
            rates=rates["login-username"],
            fail_open=False,
            methods=("POST",),
        ),
        "login-account": Policy(
            key="biomuseum.ratelimits.username_key", rates=rates["login-account"], fail_open=False, methods=("POST",)
        ),
        # Bearer tokens sent to /ops/ endpoints, per address: guessing is slow; fail open, so monitoring keeps
        # working while Redis is down.
        "ops-token": Policy(key="ip", rates=rates["ops-token"], fail_open=True, methods=("GET", "HEAD")),
        "staff-write": Policy(
            key="user", rates=rates["staff-write"], fail_open=True, methods=("POST", "PUT", "PATCH", "DELETE")
        ),
        "subscribe-ip": Policy(key="ip", rates=rates["subscribe-ip"], fail_open=True, methods=("POST",)),
        "subscribe-address": Policy(
            key="biomuseum.ratelimits.email_key", rates=rates["subscribe-address"], fail_open=True, methods=("POST",)
        ),
        # Confirm and unsubscribe links. Fail open: an outage must never stop anyone unsubscribing.
        "subscription-link": Policy(
            key="ip",
            rates=rates["subscription-link"],
            fail_open=True,
            methods=("GET", "HEAD", "POST"),
        ),
    }


def username_key(group: str, request) -> str:
    data = getattr(request, "data", None) or request.POST
    return str(data.get("username", "")).strip().lower()[:150]


def address_and_username_key(group: str, request) -> str:
    return f"{_masked_address(client_ip(request))}|{username_key(group, request)}"


def email_key(group: str, request) -> str:
    data = getattr(request, "data", None) or request.POST
    return str(data.get("email", "")).strip().lower()[:254]


@dataclass
class Decision:
    limited: bool
    limit: int = 0
    remaining: int = 0
    reset: int = 0  # seconds until the tightest window resets

    def headers(self) -> dict[str, str]:
        if not self.limit:
            return {}
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(max(self.reset, 0)),
        }
        if self.limited:
            headers["Retry-After"] = str(max(self.reset, 1))
        return headers


def check(request, *names: str) -> Decision:
    """Count this request against each named policy; the tightest window decides."""
    tightest: Decision | None = None
    limited_by: Decision | None = None
    if not settings.RATELIMIT_ENABLE:
        return Decision(limited=False)
    table = policies()
    for name in names:
        policy = table[name]
        if request.method not in policy.methods:
            continue
        for rate in policy.rates:
            usage = get_usage(
                request, group=name, key=policy.key, rate=rate, method=list(policy.methods), increment=True
            )
            if usage is None:
                continue
            if usage["limit"] == 0 and usage["time_left"] == -1:  # the cache could not count
                if policy.fail_open:
                    continue
                limit, period = ratewindows.split_rate(rate)
                return Decision(limited=True, limit=limit, remaining=0, reset=min(period, 30))
            decision = Decision(
                limited=usage["should_limit"],
                limit=usage["limit"],
                remaining=usage["limit"] - usage["count"],
                reset=max(int(usage["time_left"]), 0),
            )
            if decision.limited and (limited_by is None or decision.reset > limited_by.reset):
                limited_by = decision
            if tightest is None or decision.remaining < tightest.remaining:
                tightest = decision
    return limited_by or tightest or Decision(limited=False)


@dataclass(frozen=True)
class Window:
    """One rate's current counting window for one client, keyed exactly as django-ratelimit keys it."""

    cache_key: str
    limit: int
    period: int
    reset: int


def windows(request, name: str) -> list[Window]:
    """The windows a request counts against, for callers that batch the counting (the page cache's pipeline)."""
    policy = policies()[name]
    if request.method not in policy.methods:
        return []
    if policy.key == "ip":
        value = _masked_address(client_ip(request))
    elif (simple := ratewindows.simple_key(policy.key)) is not None:
        value = simple(request)
    else:
        value = import_string(policy.key)(name, request)
    return list(_windows_of(name, value, policy.rates, policy.methods, int(time.time())))


@lru_cache(maxsize=4096)
def _masked_address(address: str) -> str:
    """django-ratelimit's "ip" key: the address, IPv6 masked to its /64 (one client, many addresses)."""
    mask = settings.RATELIMIT_IPV6_MASK if ":" in address else settings.RATELIMIT_IPV4_MASK
    return str(ipaddress.ip_network(f"{address}/{mask}", strict=False).network_address)


@receiver(setting_changed)
def _forget_settings(**kwargs) -> None:
    policies.cache_clear()
    _masked_address.cache_clear()


@lru_cache(maxsize=2048)
def _windows_of(name: str, value: str, rates: tuple, methods: tuple, now: int) -> tuple[Window, ...]:
    """Hashing keys is the costly part; for one client they change only when a window does (cached per second)."""
    found = []
    for rate in rates:
        limit, period = ratewindows.split_rate(rate)
        window_end = ratewindows.window_end(value, period)
        cache_key = ratewindows.cache_key(name, window_end, rate, value, list(methods))
        found.append(Window(cache_key, limit, period, window_end - now))
    return tuple(found)


def decide(windows: list[Window], counts: list[int]) -> Decision:
    """The same verdict `check` gives, from counts already taken."""
    decisions = [
        Decision(limited=count > window.limit, limit=window.limit, remaining=window.limit - count, reset=window.reset)
        for window, count in zip(windows, counts, strict=True)
    ]
    limited = [decision for decision in decisions if decision.limited]
    if limited:
        return max(limited, key=lambda decision: decision.reset)
    return min(decisions, key=lambda decision: decision.remaining, default=Decision(limited=False))


class RateLimited(Throttled):
    """A 429 through DRF's error envelope, with the RateLimit headers attached."""

    def __init__(self, decision: Decision):
        super().__init__(wait=max(decision.reset, 1))
        self.decision = decision


def retry_after_seconds(decision: Decision) -> int:
    return max(math.ceil(decision.reset), 1)


def throttled(request_id: str | None, decision: Decision) -> tuple[dict, dict[str, str]]:
    """The body and headers of every 429, whoever answers it (DRF's handler, ops, the page cache)."""
    retry_after = retry_after_seconds(decision)
    return throttled_envelope(request_id, retry_after), {**decision.headers(), "Retry-After": str(retry_after)}
