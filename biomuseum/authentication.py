from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF tokens that stop working after API_TOKEN_MAX_AGE_DAYS (`manage.py cleanup` then deletes them)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token.created < timezone.now() - timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS):
            raise AuthenticationFailed("Token has expired. Sign in again for a new one.")
        return user, token
