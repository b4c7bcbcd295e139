"""Local copies of cached pages on a real (throwaway) Redis: hits without a round trip, never stale."""

import os
import signal
import time
from types import SimpleNamespace

import pytest
import redis

from biomuseum import ratelimits
from biomuseum.pagecache import local as localpages
from biomuseum.pagecache import quota
from organisms import services
from tests.factories import OrganismFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("page_cache")]

LIST = "/api/v1/organisms/"


def lookups(server) -> int:
    """How many times the round-trip lookup (the page cache's one script) has run on the server."""
    stats = redis.Redis.from_url(server.url).info("commandstats")
    return stats.get("cmdstat_evalsha", {}).get("calls", 0)


def layer():
    from django.core.cache import caches

    return localpages.layer_for(caches["default"])


def wait_for_lease(timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tokens = layer().tokens()
        if tokens is not None:
            return tokens
        time.sleep(0.01)
    raise AssertionError("the watch never held a lease")


def warm(wsgi, path: str = LIST) -> None:
    """Served once (stored), once more from Redis (kept locally); then the watch holds a lease."""
    assert wsgi("GET", path)["X-Cache"] == "MISS"
    wait_for_lease()
    assert wsgi("GET", path)["X-Cache"] == "HIT"


def test_local_pages_hits_make_no_round_trip(wsgi, throwaway_redis):
    OrganismFactory.create_batch(3)
    warm(wsgi)
    body = wsgi("GET", LIST).content
    before = lookups(throwaway_redis)
    responses = [wsgi("GET", LIST) for _ in range(30)]
    assert lookups(throwaway_redis) == before
    assert {response["X-Cache"] for response in responses} == {"HIT"}
    assert {response.content for response in responses} == {body}
    assert all(response["RateLimit-Remaining"] for response in responses)


def test_local_pages_write_is_seen_by_the_next_request(wsgi, throwaway_redis):
    organism = OrganismFactory(common_name="Old name")
    detail = f"{LIST}{organism.slug}/"
    warm(wsgi, detail)
    services.organism_update(organism=organism, user=None, common_name="New name")
    response = wsgi("GET", detail)  # no waiting: the bump returned only once this process had it
    assert response["X-Cache"] == "MISS"
    assert response.json()["common_name"] == "New name"


def test_local_pages_bump_from_another_client_waits_for_every_acknowledgement(wsgi, throwaway_redis):
    """What a write in another process does (pagecache.bump): set new tokens, announce, wait for acks."""
    organism = OrganismFactory(common_name="Kept")
    detail = f"{LIST}{organism.slug}/"
    warm(wsgi, detail)
    other = redis.Redis.from_url(throwaway_redis.url, socket_timeout=1)
    key = layer().make_key("pc:gen:organisms")
    other.set(key, 12345)
    started = time.monotonic()
    localpages.announce(other, layer().make_key)
    assert time.monotonic() - started < localpages.ACK_TIMEOUT  # acknowledged, not timed out
    assert layer().tokens()["organisms"] == 12345
    assert wsgi("GET", detail)["X-Cache"] == "MISS"  # rendered under the new token


def test_local_pages_lease_ends_while_redis_stalls_and_comes_back(wsgi, throwaway_redis):
    OrganismFactory()
    warm(wsgi)
    os.kill(throwaway_redis.process.pid, signal.SIGSTOP)
    try:
        time.sleep(localpages.LEASE + localpages.TICK * 2)
        assert layer().tokens() is None  # no copy is trusted while Redis cannot vouch for it
    finally:
        os.kill(throwaway_redis.process.pid, signal.SIGCONT)
    wait_for_lease()
    time.sleep(0.3)  # past the page cache's outage back-off (0.2 s in tests)
    assert wsgi("GET", LIST).status_code == 200


def test_local_counts_are_set_aside_in_the_shared_counters(wsgi, throwaway_redis, settings):
    """Hits answered locally were counted in Redis before they were spent (reserved by a lookup)."""
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("1000/m",)}
    OrganismFactory()
    warm(wsgi)
    before = lookups(throwaway_redis)
    for _ in range(20):
        assert wsgi("GET", LIST).status_code == 200
    request = SimpleNamespace(META={"REMOTE_ADDR": "127.0.0.1"}, method="GET")
    (window,) = ratelimits.windows(request, "public-read")
    counted = int(redis.Redis.from_url(throwaway_redis.url).get(layer().make_key(window.cache_key)))
    round_trips = lookups(throwaway_redis) - before
    assert round_trips < 20  # most of the 20 were answered here
    assert counted >= 22  # the 2 warm-up requests and the 20, all in Redis already
    assert counted <= 22 + quota.RESERVE_AT_MOST * (round_trips + 2)


def test_local_counts_near_a_limit_are_exact(wsgi, throwaway_redis, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("15/m",)}
    OrganismFactory()
    (window,) = ratelimits.windows(SimpleNamespace(META={"REMOTE_ADDR": "127.0.0.1"}, method="GET"), "public-read")
    if window.reset < 5:  # all 16 requests in one window: a fresh one would start counting again
        time.sleep(window.reset + 0.5)
    warm(wsgi)
    statuses = []
    for _ in range(14):
        wait_for_lease()
        statuses.append(wsgi("GET", LIST).status_code)
    allowed = statuses.count(200)
    assert statuses == [200] * allowed + [429] * (14 - allowed)
    # 15 in the minute, the 2 warm-up requests included: never one more. A spare set aside while the lease
    # held is left unspent if the lease lapses before the next request (a starved watch thread on a busy
    # machine): the limit is then tighter by one, never looser; more than two such lapses would be a fault.
    assert 11 <= allowed <= 13


def test_local_counts_misses_do_not_pile_up_spares(wsgi, throwaway_redis, settings):
    """A client reading many pages this process does not keep makes a round trip for each: only the first
    sets spares aside, so its limit is not spent on spares it never uses."""
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("60/m",)}
    organisms = OrganismFactory.create_batch(30)
    warm(wsgi)
    statuses = [wsgi("GET", f"{LIST}{organism.slug}/").status_code for organism in organisms]
    assert statuses == [200] * 30
