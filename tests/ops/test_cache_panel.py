"""The cache panel in the curators' admin (ops/admin.py, ops/cachepanel.py): per family its generation, last
bump, hits and entries; per web process its local copies; "Warm now" and "Purge", behind permissions, on the
embedded cache and on Redis, and still answering with Redis down."""

import os
import re
import threading
import time
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from biomuseum import pagecache
from biomuseum.pagecache import local as localpages
from biomuseum.revisions import recording
from ops import cachepanel, tasks
from ops.models import CacheWarmup, WarmupStatus
from organisms import services
from organisms.models import Organism
from tests.factories import OrganismFactory, PostFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("page_cache")]

PANEL = "/admin/ops/cachewarmup/"
PURGE = "/admin/ops/cachewarmup/purge/"
WARM = "/admin/ops/cachewarmup/warm/"


@pytest.fixture
def curator(client):
    """The account `make run` creates, in the Curators group, its one-time password already replaced."""
    call_command("ensure_curator", stdout=StringIO())
    user = get_user_model().objects.get(username="curator")
    user.required_password_change.delete()
    client.force_login(user)
    return user


@pytest.fixture(autouse=True)
def embedded_cache(settings):
    """The embedded default's cache (each process's memory), whatever the suite runs on; `on_redis` and
    `throwaway_redis` replace it."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "cache-panel"}}  # fmt: skip


@pytest.fixture
def on_redis(settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url,
                                   "OPTIONS": {"SOCKET_TIMEOUT": 1, "IGNORE_EXCEPTIONS": True}}}  # fmt: skip
    from django.core.cache import caches

    caches["default"].clear()
    localpages.forget_all()
    yield
    caches["default"].clear()
    localpages.forget_all()


def row(html: str, family: str) -> str:
    found = re.search(rf'<tr class="family" data-family="{family}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {family}"
    return found.group(1)


def family(name: str) -> dict:
    return next(found for found in cachepanel.families(True) if found["name"] == name)


def join_warmups() -> None:
    """Wait for the warm-ups running on this process's threads (the embedded cache's), without asking the
    database meanwhile: SQLite's in-memory test database refuses a read while another thread writes."""
    for thread in threading.enumerate():
        if thread.name.startswith("cache-warmup-"):
            thread.join(timeout=60)
            assert not thread.is_alive(), "the warm-up did not finish"


def wait_for(condition, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


# --- who may see it and use it ---


def test_the_panel_is_for_staff_with_its_permissions(client, staff_with):
    assert client.get(PANEL)["Location"].startswith("/admin/login/")
    assert client.post(PURGE, {"family": "organisms"})["Location"].startswith("/admin/login/")
    client.force_login(staff_with("organisms.change_organism"))
    assert client.get(PANEL).status_code == 403
    client.force_login(staff_with("ops.view_cachewarmup"))
    assert client.get(PANEL).status_code == 200
    before = pagecache.generations()
    assert client.post(PURGE, {"family": "organisms"}).status_code == 403
    assert client.post(WARM).status_code == 403
    assert pagecache.generations() == before and not CacheWarmup.objects.exists()


def test_a_curator_sees_every_family_and_both_actions(client, curator):
    response = client.get(PANEL)
    html = response.content.decode()
    assert response.status_code == 200
    for name in pagecache.FAMILIES:
        assert f'value="Purge {name}"' in row(html, name)
    assert 'value="Warm now"' in html
    assert reverse("admin:ops_cachewarmup_changelist") in client.get("/admin/").content.decode()  # on the index


def test_the_actions_take_a_post_and_a_known_family(client, curator):
    assert client.get(PURGE).status_code == 405
    assert client.get(WARM).status_code == 405
    before = pagecache.generations()
    response = client.post(PURGE, {"family": "tags"})
    assert response.status_code == 400 and b"organisms, posts" in response.content
    assert pagecache.generations() == before


# --- what it shows ---


def test_a_change_shows_as_the_last_bump_with_who_and_through_what(client, curator):
    organism = OrganismFactory(common_name="Snow leopard")
    with recording("admin", user=curator):
        services.organism_update(organism=organism, user=curator, common_name="Snow leopard (Himalaya)")
    html = client.get(PANEL).content.decode()
    assert re.search(r"a change\s+by curator through admin", row(html, "organisms"))
    with recording("import"):
        services.organism_update(organism=Organism.objects.get(pk=organism.pk), user=None, common_name="Irbis")
    assert re.search(r"a change\s+by no signed-in user through import", row(client.get(PANEL).content.decode(),
                                                                             "organisms"))  # fmt: skip


def test_hits_misses_and_entries_held_count_by_family(client, curator, wsgi):
    organism = OrganismFactory()
    post = PostFactory()
    before = {name: family(name) for name in pagecache.FAMILIES}
    for path in ("/api/v1/organisms/", "/api/v1/organisms/", f"/api/v1/posts/{post.slug}/"):
        wsgi("GET", path)
    wsgi("GET", f"/api/v1/organisms/{organism.slug}/")
    organisms, posts = family("organisms"), family("posts")
    # The list twice (a miss, a hit), the post's detail and the organism's detail (each shows both families).
    assert organisms["hits"] - before["organisms"]["hits"] == 1
    assert organisms["misses"] - before["organisms"]["misses"] == 3
    assert posts["misses"] - before["posts"]["misses"] == 2
    assert (organisms["held"], posts["held"]) == (3, 2)
    cells = row(client.get(PANEL).content.decode(), "organisms")
    assert '<td class="number held">3</td>' in cells


def test_purge_kills_the_familys_pages_and_is_recorded(client, curator, wsgi):
    OrganismFactory()
    post = PostFactory()
    for path in ("/api/v1/organisms/", f"/api/v1/posts/{post.slug}/", "/api/v1/posts/"):
        wsgi("GET", path)
    generations = pagecache.generations()
    response = client.post(PURGE, {"family": "organisms"}, follow=True)
    assert "Purged organisms" in response.content.decode()
    now = pagecache.generations()
    assert now["organisms"] != generations["organisms"] and now["posts"] == generations["posts"]
    assert wsgi("GET", "/api/v1/organisms/")["X-Cache"] == "MISS"
    assert wsgi("GET", f"/api/v1/posts/{post.slug}/")["X-Cache"] == "MISS"  # it shows organisms too
    assert wsgi("GET", "/api/v1/posts/")["X-Cache"] == "HIT"
    assert re.search(r"a purge\s+by curator through admin", row(response.content.decode(), "organisms"))


# --- Warm now ---


def test_warm_now_runs_in_the_web_process_on_the_embedded_cache_and_reports(client, curator, wsgi, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    organisms = OrganismFactory.create_batch(3)
    response = client.post(WARM)
    join_warmups()
    assert "Warm-up started" in client.get(response["Location"]).content.decode()
    job = CacheWarmup.objects.get(status=WarmupStatus.DONE)
    assert job.requested_by == curator and job.where == "web process" and job.errors == 0
    assert job.pages >= 1 + len(organisms) and job.by_kind["detail pages"] == len(organisms)
    assert wsgi("GET", "/api/v1/organisms/")["X-Cache"] == "HIT"
    assert wsgi("GET", f"/api/v1/organisms/{organisms[0].slug}/")["X-Cache"] == "HIT"
    html = client.get(PANEL).content.decode()
    assert re.search(rf'<tr class="warmup" data-status="done">.*?<td class="number pages">{job.pages}</td>', html,
                     re.S)  # fmt: skip


def test_one_warm_up_at_a_time(client, curator):
    waiting = CacheWarmup.objects.create(requested_by=curator)  # as a worker that has not taken it yet
    response = client.post(WARM, follow=True)
    assert "already waiting" in response.content.decode()
    assert list(CacheWarmup.objects.all()) == [waiting]
    assert 'value="Warm now" disabled' in response.content.decode()


def test_a_warm_up_whose_worker_died_is_failed_and_another_may_start(client, curator):
    from django.utils import timezone

    stuck = CacheWarmup.objects.create(status=WarmupStatus.RUNNING, started_at=timezone.now())
    CacheWarmup.objects.filter(pk=stuck.pk).update(started_at=timezone.now() - timezone.timedelta(hours=1))
    client.post(WARM)
    join_warmups()
    stuck.refresh_from_db()
    assert stuck.status == WarmupStatus.FAILED and stuck.error == "stopped before it finished"
    assert CacheWarmup.objects.count() == 2


def test_the_schedule_does_not_warm_a_cache_no_web_process_reads():
    assert tasks.warm_cache_task() == 0
    assert not CacheWarmup.objects.exists()


# --- on Redis ---


@pytest.mark.usefixtures("on_redis")
def test_on_redis_each_web_process_reports_its_local_copies_and_lease(client, curator, wsgi):
    OrganismFactory()
    for _ in range(3):
        wsgi("GET", "/api/v1/organisms/")  # the second lookup starts this process's watch; the third is local
    found = wait_for(lambda: [p for p in pagecache.process_stats() if p["pid"] == os.getpid() and p["entries"]])
    assert found[0]["lease"] is True and found[0]["max_entries"] > 0
    html = client.get(PANEL).content.decode()
    assert f"pid {os.getpid()}" in html and "held: answers repeats from memory" in html
    assert "Redis, shared by every web process" in html
    assert '<td class="number held">1</td>' in row(html, "organisms")


@pytest.mark.usefixtures("on_redis")
def test_on_redis_purge_reaches_every_processs_copies_and_records_who(client, curator, wsgi):
    OrganismFactory()
    for _ in range(3):
        wsgi("GET", "/api/v1/organisms/")
    response = client.post(PURGE, {"family": "organisms"}, follow=True)
    assert "Purged organisms" in response.content.decode()
    assert wsgi("GET", "/api/v1/organisms/")["X-Cache"] == "MISS"
    bump = pagecache.last_bumps()["organisms"]
    assert (bump["by"], bump["via"], bump["purge"]) == ("curator", "admin", True)


@pytest.mark.usefixtures("on_redis")
def test_on_redis_warm_now_is_a_job_and_the_schedule_takes_one_left_waiting(
    client, curator, wsgi, settings, eager_jobs
):
    """The job runs here as the request commits; the curator's journey has a real worker run it."""
    settings.PUBLIC_BASE_URL = "http://testserver"
    OrganismFactory.create_batch(2)
    client.post(WARM)
    job = CacheWarmup.objects.get()
    assert (job.status, job.where) == (WarmupStatus.DONE, "worker")
    assert wsgi("GET", "/api/v1/organisms/")["X-Cache"] == "HIT"
    left = CacheWarmup.objects.create(requested_by=curator)  # queued while the broker was down
    assert tasks.warm_cache_task(pages=1, details=1) >= 1
    left.refresh_from_db()
    assert left.status == WarmupStatus.DONE and left.where == "worker (schedule)"
    assert CacheWarmup.objects.count() == 2  # the schedule ran the waiting one, no other


@pytest.mark.integration
def test_with_redis_down_the_panel_answers_and_says_so(client, curator, throwaway_redis):
    OrganismFactory()
    throwaway_redis.stop()
    response = client.get(PANEL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "does not answer" in html
    assert '<code class="generation">unknown</code>' in row(html, "organisms")
    response = client.post(PURGE, {"family": "organisms"}, follow=True)
    assert "Redis did not take the purge of organisms" in response.content.decode()
