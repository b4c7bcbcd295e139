"""Sign-in endpoints, rate limited per client address and per username (see biomuseum/ratelimits.py)."""

from django.contrib import admin
from django.http import HttpResponse
from rest_framework import parsers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import BaseThrottle

from . import ratelimits
from .parsers import JSONParser

LOGIN_POLICIES = ("login-ip", "login-username")


class LoginThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        decision = ratelimits.check(request, *LOGIN_POLICIES)
        if decision.limited:
            raise ratelimits.RateLimited(decision)
        return True


class TokenLoginView(ObtainAuthToken):
    """POST username and password, get the account's API token."""

    throttle_classes = [LoginThrottle]
    # ObtainAuthToken names DRF's own parsers; ours answers a too deeply nested JSON body with a 400.
    parser_classes = [parsers.FormParser, parsers.MultiPartParser, JSONParser]


def admin_login(request, extra_context=None):
    """The admin's own login view, behind the same limits as the token endpoint."""
    decision = ratelimits.check(request, *LOGIN_POLICIES)
    if decision.limited:
        response = HttpResponse(
            "Too many sign-in attempts. Wait a moment and try again.", status=429, content_type="text/plain"
        )
        for header, value in decision.headers().items():
            response[header] = value
        return response
    return admin.site.login(request, extra_context)
