"""DRF's side of the rate-limit policy table (biomuseum/ratelimits.py): which policy a view's requests count
against, answered with 429 and the RateLimit headers."""

from rest_framework.throttling import BaseThrottle

from . import ratelimits


class StaffWriteThrottle(BaseThrottle):
    """The "staff-write" policy of biomuseum/ratelimits.py, answered with 429 and RateLimit headers."""

    def allow_request(self, request, view) -> bool:
        decision = ratelimits.check(request, "staff-write")
        request.ratelimit_decision = decision
        if decision.limited:
            raise ratelimits.RateLimited(decision)
        return True


class PublicReadThrottle(BaseThrottle):
    """The "public-read" policy for anonymous reads that reach Django without the page cache counting them
    (a session cookie that names nobody, a page the cache does not keep): limited wherever answered."""

    def allow_request(self, request, view) -> bool:
        if request.method not in ("GET", "HEAD") or request.META.get(ratelimits.COUNTED_BY_PAGE_CACHE):
            return True
        if request.user.is_authenticated:
            return True
        decision = ratelimits.check(request, "public-read")
        request.ratelimit_decision = decision
        if decision.limited:
            raise ratelimits.RateLimited(decision)
        return True
