"""Never stale, on real processes: a write from a separate `manage.py` process is seen by the next request to
every gunicorn worker, on the embedded defaults and on Redis; a bulk write bumps once, and every subscribed
process acknowledges it in time even with another deployment on the same Redis server."""

import json
import time

import pytest
import redis

from tests.conftest import ThrowawayRedis

from .processes import Gunicorn, http, manage, project_env, wait_until

pytestmark = pytest.mark.integration

DETAIL = "/api/v1/organisms/panthera-tigris/"
UPDATE_HABITAT = (
    "from organisms.models import Organism; from organisms import services;"
    "services.organism_update(organism=Organism.objects.get(slug='panthera-tigris'), user=None, habitat={!r})"
)


def test_write_from_another_process_is_seen_on_the_embedded_defaults(tmp_path):
    env = project_env(tmp_path)  # SQLite and the in-process cache: no Redis anywhere
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        http("GET", server.url + DETAIL)
        status, headers, body = http("GET", server.url + DETAIL)
        assert status == 200 and headers["X-Cache"] == "HIT"
        assert json.loads(body)["habitat"] != "Edited from a shell"

        manage(env, "shell", "-c", UPDATE_HABITAT.format("Edited from a shell"))

        status, headers, body = http("GET", server.url + DETAIL)
        assert status == 200
        assert headers["X-Cache"] == "MISS"
        assert json.loads(body)["habitat"] == "Edited from a shell"
        assert http("GET", server.url + DETAIL)[1]["X-Cache"] == "HIT"  # and cached again
    finally:
        server.stop()


BULK = """
import json, time
from django.db import transaction
from biomuseum.pagecache import bump_stats
from organisms import services
from organisms.models import Organism
ids = list(Organism.objects.filter(slug__startswith='synthetic').order_by('pk').values_list('pk', flat=True)[:500])
before = bump_stats()
started = time.monotonic()
with transaction.atomic():
    changed = services.organism_set_published(organisms=Organism.objects.filter(pk__in=ids), published={published},
        user=None)
elapsed = time.monotonic() - started
after = bump_stats()
print(json.dumps({{"changed": changed, "seconds": elapsed, "bumps": after["bumps"] - before["bumps"],
    "late_acks": after["late_acks"] - before["late_acks"]}}))
"""


def _listeners(client: redis.Redis, database: int) -> int:
    return client.pubsub_numsub(f"bm:1:pc:bumps@{database}")[0][1]


def _warm(server: Gunicorn, paths: list[str], rounds: int = 30) -> None:
    for _ in range(rounds):  # one connection per request: both workers take some
        for path in paths:
            assert http("GET", server.url + path)[0] == 200


def _follow(server: Gunicorn, client: redis.Redis, database: int, workers: int) -> None:
    """Requests until each of the server's workers follows bumps (a worker starts to on its first page)."""

    def following() -> bool:
        _warm(server, ["/api/v1/organisms/"], rounds=5)
        return _listeners(client, database) == workers

    wait_until(following, timeout=20, what=f"{workers} worker(s) to follow bumps")


def test_bulk_write_bumps_once_and_every_process_acknowledges(tmp_path):
    server = ThrowawayRedis()
    server.start()
    museum = project_env(tmp_path / "museum", REDIS_URL=server.url.replace("/0", "/3"), WEB_CONCURRENCY="2")
    (tmp_path / "museum").mkdir()
    # Another deployment on the same Redis server, another database: its processes hear nothing of ours.
    neighbour = project_env(tmp_path / "neighbour", REDIS_URL=server.url.replace("/0", "/4"), WEB_CONCURRENCY="1")
    (tmp_path / "neighbour").mkdir()
    for env in (museum, neighbour):
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
    manage(museum, "seed_demo", "--organisms", "500")
    first = manage(
        museum,
        "shell",
        "-c",
        "from organisms.models import Organism; "
        "print(Organism.objects.filter(slug__startswith='synthetic').order_by('pk').first().slug)",
    )
    sample = f"/api/v1/organisms/{first.strip().splitlines()[-1]}/"
    web = Gunicorn(museum, tmp_path / "museum.log").start()
    other = Gunicorn(neighbour, tmp_path / "neighbour.log").start()
    client = redis.Redis.from_url(server.url)
    try:
        _warm(web, ["/api/v1/organisms/", sample])
        _follow(web, client, 3, workers=2)
        _follow(other, client, 4, workers=1)

        for published in (False, True):
            result = json.loads(manage(museum, "shell", "-c", BULK.format(published=published)).splitlines()[-1])
            assert result["changed"] == 500
            assert result["bumps"] == 1  # one transaction, one bump, whatever the number of rows
            assert result["late_acks"] == 0  # every subscribed process answered
            statuses = {http("GET", web.url + sample)[0] for _ in range(10)}  # both workers, at once
            assert statuses == ({200} if published else {404})
        assert client.get("bm:1:pc:stats:late_acks") is None  # none late, ever, on this deployment
    finally:
        web.stop()
        other.stop()
        server.stop()


def test_idle_workers_leave_without_missing_an_acknowledgement(tmp_path):
    """A watch stops following after a quiet spell; bumps published while it leaves are still answered."""
    server = ThrowawayRedis()
    server.start()
    env = project_env(tmp_path, REDIS_URL=server.url, WEB_CONCURRENCY="2", PAGE_CACHE_WATCH_IDLE_EXIT="1")
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    web = Gunicorn(env, tmp_path / "gunicorn.log").start()
    client = redis.Redis.from_url(server.url)
    try:
        _follow(web, client, 0, workers=2)
        code = (
            "import json, time; from biomuseum.pagecache import bump, bump_stats; start = time.monotonic()\n"
            "while time.monotonic() - start < 3: bump('organisms')\n"
            "print(json.dumps(bump_stats()))"
        )
        stats = json.loads(manage(env, "shell", "-c", code).splitlines()[-1])
        assert _listeners(client, 0) == 0  # both left while bumps kept coming
        assert stats["bumps"] > 50
        assert stats["late_acks"] == 0, (tmp_path / "gunicorn.log").read_text()[-3000:]
        time.sleep(0.1)
        assert http("GET", web.url + "/api/v1/organisms/")[0] == 200  # a request starts following again
        wait_until(lambda: _listeners(client, 0) >= 1, timeout=5, what="a worker to follow bumps again")
    finally:
        web.stop()
        server.stop()
