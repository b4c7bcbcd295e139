"""The client's address, as far as we can trust it.

Behind N trusted proxies, the client is the N-th address from the right of
X-Forwarded-For (each proxy appends the address it received from). Anything
further left was written by the client and can be spoofed, so it is never used.

An IPv4 client reaching a dual-stack socket (`[::]:PORT`) arrives as an
IPv4-mapped IPv6 address (`::ffff:192.0.2.7`); it is the IPv4 client, and is
keyed as one (masking the mapped form to a /64 would put every IPv4 client
in one bucket).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


def client_ip(request) -> str:
    remote = _unmapped(request.META.get("REMOTE_ADDR") or "0.0.0.0")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < hops:
        return remote  # fewer hops than proxies we trust: the header did not come through them all
    return _canonical(forwarded[-hops]) or remote


def _unmapped(address: str) -> str:
    return (_canonical(address) or address) if address[:7].lower() == "::ffff:" else address


@lru_cache(maxsize=4096)
def _canonical(address: str) -> str | None:
    """The address in canonical form, IPv4-mapped IPv6 as IPv4; None when it is not an address."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    mapped = getattr(parsed, "ipv4_mapped", None)
    return str(mapped or parsed)
