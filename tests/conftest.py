"""Shared fixtures. A test that needs PostgreSQL or Redis skips with a reason on a laptop without
them, and fails in CI (CI=true), where they must be there."""

import os
import secrets
import socket
from urllib.parse import urlparse

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from .factories import UserFactory
from .migrating import migrate

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Schemathesis (tests/reliability/test_schemathesis.py) tries other cases every run; the header names the seed.
os.environ.setdefault("SCHEMATHESIS_SEED", str(secrets.randbelow(2**31)))


def pytest_report_header(config) -> str:
    return f"schemathesis seed: {os.environ['SCHEMATHESIS_SEED']} (replay: SCHEMATHESIS_SEED=<seed> make test)"


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_line(pytest_report_header(terminalreporter.config))


TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def require_service(name: str, reason: str) -> None:
    """Skip here, fail in CI: a missing service must never turn CI green."""
    message = f"{name} is not available: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: service-backed tests must run)")
    pytest.skip(message)


def require_postgresql(connection) -> None:
    """For tests of PostgreSQL itself: skip on SQLite, unless DATABASE_URL asked for PostgreSQL and did not get it."""
    if connection.vendor == "postgresql":
        return
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.fail(f"DATABASE_URL names PostgreSQL but the configured database is {connection.vendor}")
    pytest.skip("the configured database is SQLite; CI's second pass runs this on PostgreSQL")


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
    settings.DWCA_EXPORT_DIR = str(tmp_path / "exports")
    # Pages with {% static %} render without a collectstatic manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def _generations_file(tmp_path_factory):
    return tmp_path_factory.mktemp("pagecache") / "generations"


@pytest.fixture(autouse=True)
def _isolated_generations(settings, _generations_file):
    """The suite's own shared generation tokens, not those of a `make run` on the same checkout."""
    settings.PAGE_CACHE_GENERATIONS_FILE = str(_generations_file)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every factory user gets a password; the production hasher would spend ~0.3s on each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _page_cache_off(settings):
    """Most tests are about what a view renders; tests/biomuseum/pagecache/test_app.py turns the page cache on.

    (Inside pytest-django's per-test transaction nothing commits, so generations never move.)
    """
    settings.PAGE_CACHE_ENABLED = False


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    from biomuseum.pagecache import local as localpages

    cache.clear()
    localpages.forget_all()  # the web process's own copies, emptied with the cache behind its back
    yield
    cache.clear()
    localpages.forget_all()


@pytest.fixture
def migrations_restored():
    """For a test that migrates the database back: every app's latest migration again afterwards, whatever
    the test did or where it failed, so later tests find every table."""
    yield
    migrate()


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


class WSGIResponse:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status_code = int(status.split()[0])
        self.headers = {}
        for name, value in headers:
            self.headers.setdefault(name.lower(), value)
        self.header_list = headers
        self.content = body

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def get(self, name: str, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        import json

        return json.loads(self.content)


@pytest.fixture
def wsgi():
    """Requests through the deployed WSGI application (page cache included), not Django's test handler."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from django.test import RequestFactory

    from biomuseum.wsgi import application

    factory = RequestFactory()

    def call(method: str, path: str, data=None, **headers) -> WSGIResponse:
        environ = getattr(factory, method.lower())(path, data or {}, **headers).environ
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"], captured["headers"] = status, response_headers

        # As Django's test client does: keep the test's database connection (and its transaction) open.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            chunks = application(environ, start_response)
            body = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return WSGIResponse(captured["status"], captured["headers"], body)

    return call


@pytest.fixture
def page_cache(settings):
    """The page cache on, as deployed; use with django_db(transaction=True) so writes really commit."""
    from biomuseum import pagecache

    settings.PAGE_CACHE_ENABLED = True
    settings.PAGE_CACHE_OUTAGE_BACKOFF = 0.2
    pagecache.route_for.cache_clear()
    return pagecache


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of the test's own on a free loopback port, to stop and start at will."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        import shutil
        import subprocess
        import time

        binary = shutil.which("redis-server")
        if binary is None:
            require_service("redis-server", "the binary is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not reachable(self.url, timeout=0.1):
            if time.monotonic() > deadline:
                raise RuntimeError("throwaway redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server():
    """A private redis-server for processes a test starts (throwaway_redis points this process at one)."""
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def throwaway_redis(settings):
    """The default cache on a private redis-server that the test may stop (settings point at it)."""
    server = ThrowawayRedis()
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }
    yield server
    server.stop()


@pytest.fixture
def eager_jobs(settings):
    """Celery tasks run in this process when queued (as on the embedded defaults), errors raised."""
    from biomuseum.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def json_log():
    """Every log line written meanwhile, as production writes it (ops.logs.JsonFormatter), parsed."""
    import io
    import json
    import logging

    from ops.logs import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    saved_level = root.level
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(saved_level)
