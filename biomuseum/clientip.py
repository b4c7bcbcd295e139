"""The client's address, as far as we can trust it.

Behind N trusted proxies, the client is the N-th address from the right of
X-Forwarded-For (each proxy appends the address it received from). Anything
further left was written by the client and can be spoofed, so it is never used.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < hops:
        return remote  # fewer hops than proxies we trust: the header did not come through them all
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
