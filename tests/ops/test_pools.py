"""/ops/pools/: who may read it, and what it says about each pool on the configured set-up."""

import pytest
from django.db import connection

from tests.conftest import free_port
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "a-long-random-ops-token-for-tests"


@pytest.fixture(autouse=True)
def _ops_token(settings):
    settings.OPS_TOKEN = TOKEN
    settings.CELERY_BROKER_URL = ""


def test_pools_refuses_anonymous_callers_with_401(client):
    response = client.get("/ops/pools/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


def test_pools_refuses_a_wrong_token(client, settings):
    assert client.get("/ops/pools/", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 401
    settings.OPS_TOKEN = ""  # no token configured: no token is right
    assert client.get("/ops/pools/", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_pools_refuses_signed_in_non_staff_with_403(client):
    client.force_login(UserFactory(is_staff=False))
    assert client.get("/ops/pools/").status_code == 403


def test_pools_answers_staff_sessions_and_the_bearer_token(client):
    assert client.get("/ops/pools/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    client.force_login(UserFactory(is_staff=True))
    response = client.get("/ops/pools/")
    assert response.status_code == 200
    assert set(response.json()) == {"worker", "database", "redis", "page_cache", "celery"}
    assert "no-store" in response["Cache-Control"]


def test_pools_database_reports_what_applies(client):
    body = client.get("/ops/pools/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json()["database"]
    assert body["vendor"] == connection.vendor
    if connection.vendor == "postgresql":
        assert body["pooled"] is True
        for field in ("size", "available", "waiting", "errors", "usage_ms", "max"):
            assert isinstance(body[field], int)
        assert body["max"] >= body["size"] >= body["available"]
    else:
        assert body["pooled"] is False
        assert "no connection pool" in body["detail"]


def test_pools_worker_and_page_cache_sections(client, settings):
    body = client.get("/ops/pools/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json()
    assert isinstance(body["worker"]["pid"], int)
    assert set(body["page_cache"]) == {"this_worker", "all_workers", "generations", "bumps", "last_bumps",
                                       "local_copies"}  # fmt: skip
    assert "hit_ratio" in body["page_cache"]["this_worker"]
    local = body["page_cache"]["local_copies"]  # on Redis only: the in-process cache is local already
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        assert set(local) == {"entries", "max_entries", "lease", "lease_lapses"}
    else:
        assert local is None
    assert body["celery"] == {"broker": "not configured (tasks run in-process)"}


def test_pools_redis_connection_pool(client, settings, redis_url):
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url, "OPTIONS": {"SOCKET_TIMEOUT": 1}}
    }
    from django.core.cache import cache

    cache.set("ops-pools-test", 1)
    body = client.get("/ops/pools/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json()["redis"]
    assert body["configured"] is True
    assert body["max"] >= 1
    assert body["created"] >= 1
    assert body["in_use"] + body["available"] == body["created"]


def test_pools_celery_queue_depths_and_workers_on_a_redis_broker(client, settings, redis_url):
    import redis

    settings.CELERY_BROKER_URL = redis_url
    settings.OPS_CELERY_PING_TIMEOUT = 0.2
    server = redis.Redis.from_url(redis_url)
    server.delete("images")
    server.rpush("images", b"one", b"two")
    try:
        body = client.get("/ops/pools/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json()["celery"]
    finally:
        server.delete("images")
    assert body["broker"] == "redis"
    assert body["queues"]["images"] == 2
    assert {"email", "default"} <= set(body["queues"])
    assert body["workers"] == 0  # no worker runs in this test


def test_pools_celery_broker_down_is_reported_not_raised(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.OPS_CELERY_PING_TIMEOUT = 0.2
    response = client.get("/ops/pools/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert str(response.json()["celery"]["queues"]).startswith(("error", "timeout"))


@pytest.mark.django_db(transaction=True)
def test_pools_show_each_familys_last_bump(client):
    from biomuseum import pagecache
    from biomuseum.revisions import recording

    with recording("import"):
        pagecache.bump("posts")
    last = client.get("/ops/pools/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json()["page_cache"]["last_bumps"]
    assert set(last) == set(pagecache.FAMILIES)
    assert (last["posts"]["via"], last["posts"]["purge"], last["posts"]["by"]) == ("import", False, None)
    assert last["posts"]["at"] > 0
