"""Shared fixtures. A test that needs PostgreSQL or Redis skips with a reason on a laptop without
them, and fails in CI (CI=true), where they must be there."""

import os
import socket
from urllib.parse import urlparse

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from .factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def require_service(name: str, reason: str) -> None:
    """Skip here, fail in CI: a missing service must never turn CI green."""
    message = f"{name} is not available: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: service-backed tests must run)")
    pytest.skip(message)


def reachable(url: str, timeout: float = 0.5) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not reachable(TEST_REDIS_URL):
        require_service("Redis", f"nothing answers at {TEST_REDIS_URL}")
    return TEST_REDIS_URL


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Pages with {% static %} render without a collectstatic manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every factory user gets a password; the production hasher would spend ~0.3s on each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _page_cache_off(settings):
    """Most tests are about what a view renders; tests/test_pagecache.py turns the page cache on.

    (Inside pytest-django's per-test transaction nothing commits, so generations never move.)
    """
    settings.PAGE_CACHE_ENABLED = False


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_with(db):
    """A staff user holding exactly the permissions named."""

    def make(*permissions: str):
        return UserFactory(is_staff=True, permissions=list(permissions))

    return make


@pytest.fixture
def token_client(db):
    """An API client authenticated by token as a user holding the given permissions."""

    def make(*permissions: str, is_staff: bool = True) -> APIClient:
        user = UserFactory(is_staff=is_staff, permissions=list(permissions))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        client.user = user
        return client

    return make
