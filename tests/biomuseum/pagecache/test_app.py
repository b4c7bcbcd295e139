"""The page cache through the deployed WSGI application, on the configured cache
(in-process by default, Redis in CI's second pass) and, where it says so, on a real Redis."""

import gzip
import threading
import time

import pytest
from django.utils import timezone

from blogs.models import PostStatus
from ops import pools
from organisms import services
from tests.factories import OrganismFactory, PostFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("page_cache")]

LIST = "/api/v1/organisms/"


def test_page_cache_second_request_is_a_hit_with_same_body(wsgi):
    OrganismFactory.create_batch(3)
    first, second = wsgi("GET", LIST), wsgi("GET", LIST)
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "HIT")
    assert first.content == second.content
    assert second["Content-Type"] == "application/json"
    assert second["X-Content-Type-Options"] == "nosniff"  # the page's own headers come with it
    assert second["X-Request-ID"] != first["X-Request-ID"]


def test_page_cache_key_ignores_parameter_order_and_tracking(wsgi):
    OrganismFactory.create_batch(3)
    assert wsgi("GET", f"{LIST}?page_size=2&kingdom=Animalia")["X-Cache"] == "MISS"
    assert wsgi("GET", f"{LIST}?kingdom=Animalia&page_size=2")["X-Cache"] == "HIT"
    assert wsgi("GET", f"{LIST}?kingdom=Animalia&utm_source=x&page_size=2&fbclid=y&gclid=z")["X-Cache"] == "HIT"
    assert wsgi("GET", f"{LIST}?kingdom=Animalia&page_size=3")["X-Cache"] == "MISS"


def test_page_cache_does_not_cache_errors_or_unknown_parameters(wsgi):
    for _ in range(2):
        response = wsgi("GET", f"{LIST}?colour=red")
        assert response.status_code == 400
        assert response.get("X-Cache") is None
    for _ in range(2):
        missing = wsgi("GET", "/api/v1/organisms/nope/")
        assert missing.status_code == 404
        assert missing.get("X-Cache") != "HIT"  # rendered each time, never stored


def test_page_cache_is_never_stale_after_a_service_write(wsgi):
    organism = OrganismFactory(common_name="Old name")
    detail = f"/api/v1/organisms/{organism.slug}/"
    assert wsgi("GET", detail).json()["common_name"] == "Old name"
    assert wsgi("GET", LIST)["X-Cache"] == "MISS"
    services.organism_update(organism=organism, user=None, common_name="New name")
    response = wsgi("GET", detail)
    assert response["X-Cache"] == "MISS"
    assert response.json()["common_name"] == "New name"
    assert wsgi("GET", LIST).json()["results"][0]["common_name"] == "New name"


def test_page_cache_post_change_refreshes_organism_detail(wsgi):
    organism = OrganismFactory()
    post = PostFactory(title="First title")
    post.related_organisms.add(organism)
    detail = f"/api/v1/organisms/{organism.slug}/"
    assert [p["title"] for p in wsgi("GET", detail).json()["related_posts"]] == ["First title"]
    post.title = "Second title"
    post.save()
    assert [p["title"] for p in wsgi("GET", detail).json()["related_posts"]] == ["Second title"]


def test_page_cache_admin_bulk_action_invalidates(wsgi, client):
    organisms = OrganismFactory.create_batch(2)
    assert len(wsgi("GET", LIST).json()["results"]) == 2
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/organisms/organism/", {"action": "unpublish", "_selected_action": [organisms[0].pk]}, follow=True
    )
    assert response.status_code == 200
    assert [row["slug"] for row in wsgi("GET", LIST).json()["results"]] == [organisms[1].slug]


def test_page_cache_api_write_invalidates(wsgi, token_client):
    organism = OrganismFactory(habitat="Forest")
    detail = f"/api/v1/organisms/{organism.slug}/"
    assert wsgi("GET", detail).json()["habitat"] == "Forest"
    client = token_client("organisms.change_organism")
    assert client.patch(detail, {"habitat": "Desert"}, format="json").status_code == 200
    assert wsgi("GET", detail).json()["habitat"] == "Desert"


def test_page_cache_scheduled_post_appears_on_time(wsgi):
    PostFactory(title="Already out")
    PostFactory(title="Coming soon", published_at=timezone.now() + timezone.timedelta(seconds=1.5))
    first = wsgi("GET", "/api/v1/posts/")
    assert [p["title"] for p in first.json()["results"]] == ["Already out"]
    assert int(first["Cache-Control"].split("max-age=")[1].split(",")[0]) <= 2
    assert wsgi("GET", "/api/v1/posts/")["X-Cache"] == "HIT"
    time.sleep(1.6)
    later = wsgi("GET", "/api/v1/posts/")
    assert [p["title"] for p in later.json()["results"]] == ["Coming soon", "Already out"]


def test_page_cache_asks_for_the_next_publication_once_per_generation(wsgi):
    """A miss's expiry comes from the database once per generation of the families, and again after a write
    (a new schedule) or once that time has come."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def asked(queries) -> int:  # the next publication's query: only published_at, in order
        return sum('SELECT "blogs_post"."published_at" AS "published_at" FROM' in query["sql"] for query in queries)

    PostFactory(title="Out")
    posts = [PostFactory(title=f"Post {index}") for index in range(3)]
    with CaptureQueriesContext(connection) as queries:
        for post in posts:  # three misses, three pages
            assert wsgi("GET", f"/api/v1/posts/{post.slug}/")["X-Cache"] == "MISS"
    assert asked(queries) == 1
    PostFactory(title="Soon", published_at=timezone.now() + timezone.timedelta(seconds=1.2))  # a write: a bump
    with CaptureQueriesContext(connection) as queries:
        response = wsgi("GET", f"/api/v1/posts/{posts[0].slug}/")
        wsgi("GET", f"/api/v1/posts/{posts[1].slug}/")  # evicted by the bump too; same generation, same schedule
    assert asked(queries) == 1 and int(response["Cache-Control"].split("max-age=")[1].split(",")[0]) <= 2
    time.sleep(1.3)  # the post is out: the next change is asked for again, once
    with CaptureQueriesContext(connection) as queries:
        assert wsgi("GET", f"/api/v1/posts/{posts[0].slug}/")["X-Cache"] == "MISS"  # its page expired
        wsgi("GET", f"/api/v1/posts/{posts[2].slug}/")
    assert asked(queries) == 1
    assert "Soon" in [post["title"] for post in wsgi("GET", "/api/v1/posts/").json()["results"]]


def test_page_cache_drafts_never_leak_through_cache(wsgi):
    post = PostFactory(status=PostStatus.DRAFT, published_at=None, title="Secret draft")
    wsgi("GET", "/api/v1/posts/")
    assert wsgi("GET", f"/api/v1/posts/{post.slug}/").status_code == 404
    assert "Secret draft" not in wsgi("GET", "/api/v1/posts/").content.decode()


def test_page_cache_http_headers_and_304(wsgi):
    OrganismFactory.create_batch(3)
    response = wsgi("GET", LIST)
    cache_control = response["Cache-Control"]
    assert cache_control.startswith("public, max-age=")
    assert "stale-while-revalidate=" in cache_control and "stale-if-error=" in cache_control
    assert "Cookie" not in response["Vary"] and "Accept-Encoding" in response["Vary"]
    etag = response["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    for _ in range(2):  # from the miss path and the hit path alike
        not_modified = wsgi("GET", LIST, HTTP_IF_NONE_MATCH=etag)
        assert not_modified.status_code == 304
        assert not_modified.content == b""
        assert not_modified["ETag"] == etag
    assert wsgi("GET", LIST, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_page_cache_off_public_pages_keep_their_http_caching(wsgi, settings):
    """Rendered and not stored (cache off here; the same path serves a cache outage): headers as if stored."""
    settings.PAGE_CACHE_ENABLED = False
    OrganismFactory.create_batch(20)
    response = wsgi("GET", LIST)
    assert response.get("X-Cache") is None
    assert response["Cache-Control"].startswith("public, max-age=")
    assert "Cookie" not in response["Vary"] and "Accept-Encoding" in response["Vary"]
    etag = response["ETag"]
    not_modified = wsgi("GET", LIST, HTTP_IF_NONE_MATCH=etag)
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    zipped = wsgi("GET", LIST, HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == response.content
    assert wsgi("GET", f"{LIST}?colour=red").status_code == 400  # errors pass through untouched


def test_page_cache_gzips_large_pages_for_clients_that_accept_it(wsgi):
    OrganismFactory.create_batch(20)
    plain = wsgi("GET", LIST)
    zipped = wsgi("GET", LIST, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert int(zipped["Content-Length"]) == len(zipped.content) < len(plain.content)
    assert zipped["ETag"] != plain["ETag"]
    assert plain.get("Content-Encoding") is None


def test_page_cache_small_pages_are_not_gzipped(wsgi):
    response = wsgi("GET", "/api/v1/organisms/autocomplete/?q=zzz", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response.get("Content-Encoding") is None


def test_page_cache_head_has_headers_and_no_body(wsgi):
    OrganismFactory()
    wsgi("GET", LIST)
    response = wsgi("HEAD", LIST)
    assert response["X-Cache"] == "HIT"
    assert response.content == b""
    assert int(response["Content-Length"]) > 0


def test_page_cache_bypassed_and_private_for_authenticated_requests(wsgi, token_client):
    OrganismFactory()
    client = token_client()
    token = client._credentials["HTTP_AUTHORIZATION"]
    for _ in range(2):
        response = wsgi("GET", LIST, HTTP_AUTHORIZATION=token)
        assert response.status_code == 200
        assert response.get("X-Cache") is None
        assert response["Cache-Control"] == "private, no-store"
        assert response.get("Content-Encoding") is None


def test_page_cache_refuses_unacceptable_representation_through_drf(wsgi):
    OrganismFactory()
    wsgi("GET", LIST)
    assert wsgi("GET", LIST, HTTP_ACCEPT="application/xml").status_code == 406


def test_page_cache_concurrent_misses_render_once(wsgi, page_cache):
    OrganismFactory.create_batch(5)
    before = pools.page_cache_routes().get("organism-list", {}).get("render", 0)
    results = []

    def fetch():
        results.append(wsgi("GET", f"{LIST}?page_size=3"))

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200] * 8
    assert len({r.content for r in results}) == 1
    assert pools.page_cache_routes()["organism-list"]["render"] - before == 1


def test_page_cache_statistics(wsgi, page_cache):
    OrganismFactory()
    wsgi("GET", "/api/v1/organisms/autocomplete/?q=test")
    wsgi("GET", "/api/v1/organisms/autocomplete/?q=test")
    route = pools.page_cache_routes()["organism-autocomplete"]  # counted by ops.wsgi from what the cache left
    assert route["hit"] >= 1 and route["miss"] >= 1
    assert 0 < route["hit_ratio"] < 1
    generations = page_cache.generations()
    assert set(generations) == {"organisms", "posts"}
    assert generations["organisms"] is not None


def test_page_cache_keeps_hosts_apart(wsgi, settings):
    settings.ALLOWED_HOSTS = ["a.example.org", "b.example.org"]
    OrganismFactory()
    first = wsgi("GET", LIST, HTTP_HOST="a.example.org")
    second = wsgi("GET", LIST, HTTP_HOST="b.example.org")
    assert second["X-Cache"] == "MISS"
    assert "//b.example.org/" in second.json()["results"][0]["url"]
    assert "//a.example.org/" in first.json()["results"][0]["url"]
    assert wsgi("GET", LIST, HTTP_HOST="evil.example.net").status_code == 400
