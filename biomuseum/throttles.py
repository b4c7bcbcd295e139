"""DRF's side of the rate-limit policy table (biomuseum/ratelimits.py): one throttle, configured per view with
the policies its requests count against. A limited request raises RateLimited, which errors.py answers with
the one 429 (ratelimits.throttled); every answer carries the RateLimit headers (RateLimitHeadersMixin)."""

from rest_framework.throttling import BaseThrottle

from . import ratelimits


class PolicyThrottle(BaseThrottle):
    """Counts the request against `policies`; the decision stays on the request for its headers."""

    policies: tuple[str, ...] = ()

    def applies(self, request) -> bool:
        return True

    def allow_request(self, request, view) -> bool:
        if not self.applies(request):
            return True
        decision = ratelimits.check(request, *self.policies)
        request.ratelimit_decision = decision
        if decision.limited:
            raise ratelimits.RateLimited(decision)
        return True


class StaffWriteThrottle(PolicyThrottle):
    policies = ("staff-write",)


class PublicReadThrottle(PolicyThrottle):
    """Anonymous reads that reach Django without the page cache counting them (a session cookie that names
    nobody, a page the cache does not keep): limited wherever answered."""

    policies = ("public-read",)

    def applies(self, request) -> bool:
        return (
            request.method in ("GET", "HEAD")
            and not request.META.get(ratelimits.COUNTED_BY_PAGE_CACHE)
            and not request.user.is_authenticated
        )


class RateLimitHeadersMixin:
    """For DRF views: the RateLimit headers of the decision a PolicyThrottle made, on every answer."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        decision = getattr(request, "ratelimit_decision", None)
        if decision is not None:
            for header, value in decision.headers().items():
                response[header] = value
        return response
