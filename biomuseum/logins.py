"""Sign-in endpoints, rate limited per client address and per username (see biomuseum/ratelimits.py)."""

from django.contrib import admin
from django.db import transaction
from django.template.response import TemplateResponse
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from . import ratelimits
from .authentication import token_expired
from .parsers import FormParser, JSONParser, MultiPartParser
from .passwordchange import must_change_password
from .throttles import PolicyThrottle, RateLimitHeadersMixin

LOGIN_POLICIES = ("login-ip", "login-username", "login-account")


class LoginThrottle(PolicyThrottle):
    policies = LOGIN_POLICIES


class TokenLoginView(RateLimitHeadersMixin, ObtainAuthToken):
    """POST a staff member's username and password, get the account's API token (a new one once the old
    has expired). Only staff get tokens: the API has nothing for other accounts that anonymous reads lack."""

    throttle_classes = [LoginThrottle]
    # ObtainAuthToken names DRF's own parsers; ours refuse NUL, duplicate keys and too deep JSON with a 400.
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        if not user.is_staff:
            raise PermissionDenied("API tokens are for staff accounts.")
        if must_change_password(user):
            raise PermissionDenied("This password was for one use: sign in to the admin and choose a new one first.")
        with transaction.atomic():
            token = Token.objects.select_for_update().filter(user=user).first()
            if token is not None and token_expired(token):
                token.delete()
                token = None
            if token is None:
                token = Token.objects.create(user=user)
        return Response({"token": token.key}, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def admin_login(request, extra_context=None):
    """The admin's own login view, behind the same limits as the token endpoint."""
    decision = ratelimits.check(request, *LOGIN_POLICIES)
    if decision.limited:
        _, headers = ratelimits.throttled(None, decision)  # a page for people: the headers, not the JSON
        context = {
            **admin.site.each_context(request),
            "title": "Too many sign-in attempts",
            "wait": waiting_time(int(headers["Retry-After"])),
            "login_url": request.get_full_path(),  # the same page, with its ?next=
        }
        return TemplateResponse(request, "admin/login_rate_limited.html", context, status=429, headers=headers)
    return admin.site.login(request, extra_context)


def waiting_time(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{-(-seconds // 60)} minutes"  # rounded up: trying a little too early fails again
