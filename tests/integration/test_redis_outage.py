"""A real redis-server of the test's own, stopped and started under the application:
an outage makes pages slower (uncached), never broken, and never stale afterwards."""

import os
import signal
import time

import pytest

from biomuseum.pagecache import local as localpages
from organisms import services
from tests.factories import OrganismFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.usefixtures("page_cache")]

LIST = "/api/v1/organisms/"


def test_redis_down_serves_uncached_then_caching_resumes(wsgi, throwaway_redis):
    OrganismFactory.create_batch(2)
    assert [wsgi("GET", LIST)["X-Cache"] for _ in range(2)] == ["MISS", "HIT"]
    throwaway_redis.stop()
    assert wsgi("GET", LIST).status_code == 200  # (perhaps this process's own copy: no write can be missed)
    time.sleep(localpages.LEASE + 2 * localpages.TICK)  # past the lease on that copy
    for _ in range(5):
        response = wsgi("GET", LIST)
        assert response.status_code == 200
        assert len(response.json()["results"]) == 2
        assert response.get("X-Cache") is None
        assert response["Cache-Control"].startswith("public") and "Cookie" not in response["Vary"]
    throwaway_redis.start()  # same port, empty
    time.sleep(0.3)  # the outage back-off
    assert [wsgi("GET", LIST)["X-Cache"] for _ in range(2)] == ["MISS", "HIT"]


def test_write_during_redis_stall_is_never_served_stale_after(wsgi, throwaway_redis):
    organism = OrganismFactory(common_name="Before")
    detail = f"/api/v1/organisms/{organism.slug}/"
    assert wsgi("GET", detail).json()["common_name"] == "Before"
    assert wsgi("GET", detail)["X-Cache"] == "HIT"
    os.kill(throwaway_redis.process.pid, signal.SIGSTOP)  # connections hang: the socket timeout decides
    try:
        services.organism_update(organism=organism, user=None, common_name="After")
        stalled = wsgi("GET", detail)
        assert stalled.status_code == 200
        assert stalled.json()["common_name"] == "After"
    finally:
        os.kill(throwaway_redis.process.pid, signal.SIGCONT)  # back, with the old page still in it
    time.sleep(0.3)
    response = wsgi("GET", detail)
    assert response.json()["common_name"] == "After"
    assert response["X-Cache"] == "MISS"


def test_redis_down_public_reads_fail_open_and_logins_fail_closed(wsgi, client, throwaway_redis, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("2/m",)}
    OrganismFactory()
    UserFactory(username="curator", is_staff=True)
    throwaway_redis.stop()
    assert [wsgi("GET", LIST).status_code for _ in range(4)] == [200] * 4
    response = client.post("/admin/login/", {"username": "curator", "password": "correct horse battery staple"})
    assert response.status_code == 429
    throwaway_redis.start()
    time.sleep(0.3)
    response = client.post("/admin/login/", {"username": "curator", "password": "correct horse battery staple"})
    assert response.status_code == 302  # signed in once Redis is back
