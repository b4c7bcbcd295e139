"""API credentials: `Authorization: Token <key>` (staff tokens that expire) or a signed-in session."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed


def token_expired(token) -> bool:
    return token.created < timezone.now() - timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS)


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF tokens that stop working after API_TOKEN_MAX_AGE_DAYS (`manage.py cleanup` then deletes them).

    Any other `Authorization` scheme is refused (401) rather than ignored: a request that carries
    credentials is either the staff member they name or an error, never an anonymous reader that the
    page cache and its rate limit did not see."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if parts and parts[0].lower() != self.keyword.lower().encode():
            raise AuthenticationFailed("Unsupported authorization scheme: send `Authorization: Token <key>`.")
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise AuthenticationFailed("Token has expired. Sign in again for a new one.")
        return user, token
