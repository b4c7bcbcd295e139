"""Who may read the protected ops endpoints (staff with a session, or `Authorization: Bearer $OPS_TOKEN`), and how."""

import hmac
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from biomuseum import ratelimits
from biomuseum.errors import error_response


def ops_endpoint(*, protected: bool) -> Callable:
    """What every ops view is: GET and HEAD only (anything else a JSON 405; nothing changes, so no CSRF to
    guard against), never cached, outside any request transaction, and, when protected, for staff or
    the ops token only."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        if protected:
            view = ops_protected(view)
        return csrf_exempt(never_cache(safe_methods_only(transaction.non_atomic_requests(view))))

    return decorate


def _bearer_token(request: HttpRequest) -> str | None:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def ops_protected(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """401 for anonymous callers and wrong tokens, 403 for signed-in non-staff users."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        token = _bearer_token(request)
        if token is not None:
            decision = ratelimits.check(request, "ops-token")
            if decision.limited:
                body, headers = ratelimits.throttled(getattr(request, "request_id", None), decision)
                return JsonResponse(body, status=429, headers=headers)
            expected = settings.OPS_TOKEN
            if expected and hmac.compare_digest(token.encode(), expected.encode()):
                return view(request, *args, **kwargs)
            return _unauthorized(request, "The bearer token is not valid.")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.is_active and user.is_staff:
                return view(request, *args, **kwargs)
            return error_response(request, 403, "permission_denied", "Only staff may read this.")
        return _unauthorized(request, "Sign in as staff or send Authorization: Bearer <OPS_TOKEN>.")

    return wrapped


def _unauthorized(request: HttpRequest, message: str) -> HttpResponse:
    response = error_response(request, 401, "not_authenticated", message)
    response["WWW-Authenticate"] = 'Bearer realm="ops"'
    return response


def safe_methods_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET and HEAD; anything else is a JSON 405."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = error_response(request, 405, "method_not_allowed", f'Method "{request.method}" not allowed.')
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return wrapped
