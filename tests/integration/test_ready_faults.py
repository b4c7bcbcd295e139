"""Readiness on a real gunicorn with a dependency cut under it (a loopback proxy that starts dropping
packets, or a throwaway server the test stops): the answer comes within a second, with the right status."""

import json
import time

import pytest

from tests.conftest import ThrowawayRedis, reachable, require_service

from .processes import Gunicorn, TcpProxy, http, project_env

pytestmark = pytest.mark.integration

POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def ready(server: Gunicorn) -> tuple[int, dict, float]:
    started = time.monotonic()
    status, _, body = http("GET", server.url + "/ops/ready/", timeout=10)
    return status, json.loads(body), time.monotonic() - started


def test_ready_is_degraded_within_a_second_when_the_cache_drops_packets(tmp_path, redis_server):
    proxy = TcpProxy(redis_server.port)
    env = project_env(
        tmp_path, REDIS_URL=proxy.url("redis", "/0"), CELERY_BROKER_URL=redis_server.url, WEB_CONCURRENCY="1"
    )
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        status, body, _ = ready(server)
        assert (status, body["status"]) == (200, "ok")
        proxy.blackhole()
        for _ in range(3):  # again and again: hung checks must not pile up or slow the answer
            status, body, elapsed = ready(server)
            assert elapsed < 1.0
            assert status == 200
            assert body["status"] == "degraded"
            assert body["checks"]["cache"]["status"] in ("timeout", "error")
            assert body["checks"]["broker"]["status"] == "ok"
            assert body["checks"]["database"]["status"] == "ok"
    finally:
        proxy.close()
        server.stop()


def test_ready_is_degraded_within_a_second_when_the_broker_stops(tmp_path, redis_server):
    broker = ThrowawayRedis()
    broker.start()
    server = Gunicorn(
        project_env(tmp_path, REDIS_URL=redis_server.url, CELERY_BROKER_URL=broker.url, WEB_CONCURRENCY="1"),
        tmp_path / "gunicorn.log",
    ).start()
    try:
        body = ready(server)[1]
        assert body["status"] == "ok", body
        broker.stop()
        status, body, elapsed = ready(server)
        assert elapsed < 1.0
        assert (status, body["status"]) == (200, "degraded")
        assert body["checks"]["broker"]["status"] in ("timeout", "error")
        assert body["checks"]["cache"]["status"] == "ok"
    finally:
        server.stop()
        broker.stop()


def test_ready_is_503_within_a_second_when_the_database_drops_packets(tmp_path):
    if not reachable(POSTGRES, timeout=0.5):
        require_service("PostgreSQL", "nothing answers at 127.0.0.1:5432")
    proxy = TcpProxy(5432)
    env = project_env(tmp_path, DATABASE_URL=proxy.url("postgres", "/postgres", user="postgres"), WEB_CONCURRENCY="1")
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        status, body, _ = ready(server)
        assert (status, body["checks"]["database"]["status"]) == (200, "ok")
        proxy.blackhole()  # pooled connections and new ones alike now hang
        for _ in range(3):
            status, body, elapsed = ready(server)
            assert elapsed < 1.0
            assert status == 503
            assert body["status"] == "unavailable"
            assert body["checks"]["database"]["status"] in ("timeout", "error")
        assert http("GET", server.url + "/ops/health/")[0] == 200  # liveness does not care
    finally:
        proxy.close()
        server.stop()
