"""PostgreSQL cut from under a real gunicorn (a loopback proxy that resets and refuses connections):
liveness stays 200, readiness says 503, cached pages are still served, uncached requests get a
prompt 503 JSON with an error id, and everything recovers when the database is back, without a restart."""

import json
import secrets
import time

import pytest

from tests.conftest import ThrowawayRedis, reachable, require_service

from .processes import Gunicorn, TcpProxy, http, manage, project_env

pytestmark = pytest.mark.integration

POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def database():
    """A database of the test's own on the local PostgreSQL, dropped afterwards."""
    if not reachable(POSTGRES, timeout=0.5):
        require_service("PostgreSQL", "nothing answers at 127.0.0.1:5432")
    import psycopg

    name = f"biomuseum_outage_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_database_outage_degrades_and_recovers(tmp_path, database):
    direct = f"postgres://postgres@127.0.0.1:5432/{database}"
    manage(project_env(tmp_path, DATABASE_URL=direct), "migrate", "--noinput")
    manage(project_env(tmp_path, DATABASE_URL=direct), "seed_demo")
    redis = ThrowawayRedis()
    redis.start()
    proxy = TcpProxy(5432)
    env = project_env(
        tmp_path,
        DATABASE_URL=proxy.url("postgres", f"/{database}", user="postgres"),
        REDIS_URL=redis.url,
        WEB_CONCURRENCY="1",
        DATABASE_POOL_TIMEOUT="1",
    )
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    cached, uncached = "/api/v1/organisms/?kingdom=Plantae", "/api/v1/organisms/panthera-uncia/"
    try:
        assert http("GET", server.url + cached)[1]["X-Cache"] == "MISS"
        proxy.cut()

        assert http("GET", server.url + "/ops/health/")[0] == 200
        status, _, body = http("GET", server.url + "/ops/ready/")
        assert status == 503 and json.loads(body)["checks"]["database"]["status"] in ("error", "timeout")
        status, headers, body = http("GET", server.url + cached)
        assert (status, headers["X-Cache"]) == (200, "HIT")  # the page cache needs no database
        assert json.loads(body)["results"]
        for _ in range(3):
            status, headers, body = http("GET", server.url + uncached, timeout=10)
            error = json.loads(body)
            assert status == 503
            assert error["error"]["code"] == "database_unavailable"
            assert len(error["error_id"]) >= 16
            assert headers["Retry-After"]
        assert error["error_id"] in (tmp_path / "gunicorn.log").read_text()  # the same id, logged

        proxy.restore()
        for _ in range(50):  # the pool reconnects by itself
            status, _, body = http("GET", server.url + uncached)
            if status == 200:
                break
        assert status == 200 and json.loads(body)["scientific_name"] == "Panthera uncia"
        for _ in range(20):  # readiness checks on its own connection, with its own short timeout
            if http("GET", server.url + "/ops/ready/")[0] == 200:
                break
            time.sleep(0.1)
        assert http("GET", server.url + "/ops/ready/")[0] == 200
    finally:
        server.stop()
        proxy.close()
        redis.stop()
