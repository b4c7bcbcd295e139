"""Readiness policy: 503 when the database is down or the process drains, degraded for cache or broker,
each check bounded by its timeout, never cached, never a 500."""

import threading
import time

import pytest

from ops import deadlines, draining, readiness, views
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(settings):
    settings.CELERY_BROKER_URL = ""


@pytest.fixture
def hanging():
    """A check that hangs until the test ends, counting how often it was started."""
    release = threading.Event()
    started = []

    def check() -> dict:
        started.append(1)
        release.wait(10)
        return {"status": "ok"}

    yield check, started
    release.set()


def test_ready_is_ok_when_every_dependency_answers(client):
    response = client.get("/ops/ready/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"
    assert body["checks"]["broker"] == {
        "status": "not_configured",
        "detail": "not configured (tasks run in-process)",
        "ms": body["checks"]["broker"]["ms"],
    }


def test_ready_is_never_cached_nor_in_a_request_transaction(client):
    response = client.get("/ops/ready/")
    assert "no-store" in response["Cache-Control"]
    assert "default" in views.ready._non_atomic_requests


def test_ready_answers_503_while_draining(client):
    draining.start_draining()
    try:
        response = client.get("/ops/ready/")
    finally:
        draining.stop_draining()
    assert response.status_code == 503
    assert response.json()["status"] == "draining"
    assert client.get("/ops/ready/").status_code == 200


def test_ready_answers_503_when_the_drain_file_exists(client, monkeypatch, tmp_path):
    flag = tmp_path / "draining"
    monkeypatch.setenv("OPS_DRAIN_FILE", str(flag))
    assert client.get("/ops/ready/").status_code == 200
    flag.touch()
    assert client.get("/ops/ready/").status_code == 503


def test_ready_is_503_when_the_database_fails(client, monkeypatch):
    def database_down() -> dict:
        raise ConnectionError("connection refused")

    monkeypatch.setitem(readiness.CHECKS, "database", database_down)
    response = client.get("/ops/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"status": "error", "error": "ConnectionError"}
    assert "refused" not in response.content.decode()  # anyone may call this: no internals


def test_ready_is_degraded_when_the_cache_is_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }
    response = client.get("/ops/ready/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"


def test_ready_is_degraded_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/ops/ready/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["status"] == "error"


def test_ready_reports_a_hanging_check_as_timeout_within_a_second(client, monkeypatch, hanging, settings):
    check, _ = hanging
    monkeypatch.setitem(readiness.CHECKS, "cache", check)
    settings.OPS_CHECK_TIMEOUT = 0.3
    started = time.monotonic()
    response = client.get("/ops/ready/")
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert response.status_code == 200
    assert response.json()["checks"]["cache"] == {"status": "timeout", "timeout_s": 0.3}


def test_ready_hung_checks_do_not_pile_up(client, monkeypatch, hanging, settings):
    check, started = hanging
    monkeypatch.setitem(readiness.CHECKS, "database", check)
    settings.OPS_CHECK_TIMEOUT = 0.05
    for _ in range(5):
        assert client.get("/ops/ready/").status_code == 503
    assert len(started) == 1  # every probe waited on the one call still hanging
    assert deadlines.busy() <= deadlines.THREADS


def test_ready_never_answers_a_500(client, monkeypatch):
    def broken() -> tuple[int, dict]:
        raise RuntimeError("bug in a check")

    monkeypatch.setattr(readiness, "readiness", broken)
    response = client.get("/ops/ready/")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_ready_refuses_writes_with_json_405(client):
    response = client.post("/ops/ready/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
