"""The independent review's findings (docs/RELIABILITY.md, "Security review"), through the deployed WSGI
application. The server-level ones (dual-stack binds, raw paths, races, many connections) are in
tests/integration/test_security_live.py."""

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from biomuseum import ratelimits
from biomuseum.clientip import client_ip
from blogs.models import Post
from organisms import services
from organisms.models import Organism
from tests.factories import OrganismFactory, PostFactory, UserFactory

ORGANISMS = "/api/v1/organisms/"
POSTS = "/api/v1/posts/"


def _json(wsgi, method, path, body, token):
    return wsgi(
        method,
        path,
        json.dumps(body) if isinstance(body, dict) else body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )


@pytest.fixture
def staff_token(db) -> str:
    return Token.objects.create(user=UserFactory(is_staff=True, is_superuser=True)).key


@pytest.fixture
def tight_reads(settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("5/m",)}


# --- 1. credentials that do not authenticate ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_review_unknown_authorization_scheme_is_refused_not_served(wsgi):
    OrganismFactory()
    response = wsgi("GET", ORGANISMS, HTTP_AUTHORIZATION="Foo bar")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_review_session_cookie_naming_nobody_is_limited_as_anonymous(wsgi, tight_reads):
    OrganismFactory()
    statuses = [wsgi("GET", ORGANISMS, HTTP_COOKIE="sessionid=forged").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    assert wsgi("GET", ORGANISMS).status_code == 429  # one budget, cached or not


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_review_staff_reads_are_not_limited_as_public(wsgi, tight_reads, staff_token):
    OrganismFactory()
    statuses = {wsgi("GET", ORGANISMS, HTTP_AUTHORIZATION=f"Token {staff_token}").status_code for _ in range(8)}
    assert statuses == {200}


# --- 2. tracking parameters never reach the stored body ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_review_tracking_parameters_stay_out_of_shared_links(wsgi):
    OrganismFactory.create_batch(3)
    payload = "x" * 4050
    poisoned = wsgi("GET", ORGANISMS, {"page_size": "1", "utm_content": payload, "fbclid": "abc"})
    assert poisoned["X-Cache"] == "MISS"
    assert payload not in poisoned.content.decode() and "fbclid" not in poisoned.content.decode()
    plain = wsgi("GET", ORGANISMS, {"page_size": "1"})
    assert plain["X-Cache"] == "HIT"
    assert "utm_content" not in plain.json()["next"]
    assert len(plain.json()["next"]) < 300


# --- 3. one scheme, as Django decides it ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_review_scheme_follows_the_trusted_proxy_header(wsgi, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    OrganismFactory.create_batch(2)
    over_http = wsgi("GET", ORGANISMS, {"page_size": "1"})
    assert over_http.json()["next"].startswith("http://")
    over_https = wsgi("GET", ORGANISMS, {"page_size": "1"}, HTTP_X_FORWARDED_PROTO="https")
    assert over_https["X-Cache"] == "MISS"  # its own entry: the links differ
    assert over_https.json()["next"].startswith("https://")
    assert wsgi("GET", ORGANISMS, {"page_size": "1"})["X-Cache"] == "HIT"
    assert wsgi("GET", ORGANISMS, {"page_size": "1"}).json()["next"].startswith("http://")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_review_ssl_redirect_applies_to_cached_pages(wsgi, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    OrganismFactory()
    secure = {"HTTP_X_FORWARDED_PROTO": "https"}
    assert wsgi("GET", ORGANISMS, **secure).status_code == 200
    assert wsgi("GET", ORGANISMS, **secure)["X-Cache"] == "HIT"
    settings.SECURE_SSL_REDIRECT = True  # Django's middleware, loaded with the setting off, does not redirect here
    response = wsgi("GET", ORGANISMS, HTTP_X_FORWARDED_PROTO="http")
    assert "X-Cache" not in response.headers  # left to Django (tests/integration/test_security_live.py: 301)


# --- hosts: one entry per site, not per port ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_review_random_ports_do_not_grow_the_cache(wsgi):
    OrganismFactory()
    assert wsgi("GET", ORGANISMS, HTTP_HOST="testserver")["X-Cache"] == "MISS"
    assert wsgi("GET", ORGANISMS, HTTP_HOST="TestServer:80")["X-Cache"] == "HIT"  # one spelling of one site
    assert wsgi("GET", ORGANISMS, HTTP_HOST="[::1]")["X-Cache"] == "MISS"  # an IPv6 host keeps its brackets
    assert wsgi("GET", ORGANISMS, HTTP_HOST="[::1]:80")["X-Cache"] == "HIT"
    for port in (1234, 2345, 3456):
        response = wsgi("GET", ORGANISMS, HTTP_HOST=f"testserver:{port}")
        assert response.status_code == 200
        assert "X-Cache" not in response.headers  # rendered, not stored
    assert wsgi("GET", ORGANISMS, HTTP_HOST="evil.example").status_code == 400  # Django refuses the host


# --- 4. IPv4 clients on a dual-stack socket ---


def test_review_ipv4_mapped_addresses_are_keyed_as_ipv4(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    first = SimpleNamespace(META={"REMOTE_ADDR": "::ffff:192.0.2.7"}, method="GET")
    second = SimpleNamespace(META={"REMOTE_ADDR": "::FFFF:198.51.100.9"}, method="GET")
    assert client_ip(first) == "192.0.2.7"
    assert client_ip(second) == "198.51.100.9"
    assert (
        ratelimits.windows(first, "public-read")[0].cache_key != ratelimits.windows(second, "public-read")[0].cache_key
    )
    real_v6 = SimpleNamespace(META={"REMOTE_ADDR": "2001:db8::1"}, method="GET")
    assert client_ip(real_v6) == "2001:db8::1"


# --- 6. originals are never served ---


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/media/renditions/../originals/organismimage/a.jpg",
        "/media/renditions/%2e%2e/originals/organismimage/a.jpg",
        "/media/renditions//etc/passwd",
        "/media/originals/organismimage/a.jpg",
    ],
)
def test_review_media_paths_never_leave_the_renditions(wsgi, settings, tmp_path, path):
    from urllib.parse import unquote

    settings.MEDIA_ROOT = str(tmp_path)
    (tmp_path / "originals" / "organismimage").mkdir(parents=True)
    (tmp_path / "originals" / "organismimage" / "a.jpg").write_bytes(b"original with EXIF")
    (tmp_path / "renditions").mkdir()
    (tmp_path / "renditions" / "r.webp").write_bytes(b"rendition")
    assert wsgi("GET", "/media/renditions/r.webp").status_code == 200
    response = wsgi("GET", unquote(path))  # the server decodes %2e before routing
    assert response.status_code == 404
    assert b"original with EXIF" not in response.content


# --- 7. a write to a deleted record ---


@pytest.mark.django_db
def test_review_update_after_delete_is_not_found_and_never_resurrects(wsgi, staff_token):
    organism = OrganismFactory()
    stale = Organism.objects.get(pk=organism.pk)
    Organism.objects.filter(pk=organism.pk).delete()  # a DELETE that committed while the PATCH was on its way
    with pytest.raises(Organism.DoesNotExist):
        services.organism_update(organism=stale, user=None, habitat="Back from the dead")
    assert not Organism.objects.filter(pk=organism.pk).exists()
    post = PostFactory()
    stale_post = Post.objects.get(pk=post.pk)
    Post.objects.filter(pk=post.pk).delete()
    from blogs import services as blog_services

    with pytest.raises(Post.DoesNotExist):
        blog_services.post_update(post=stale_post, user=None, title="Back")
    assert not Post.objects.filter(pk=post.pk).exists()


# --- 8, 9, 13. bodies ---


@pytest.mark.django_db
def test_review_nul_is_refused_in_every_string_of_a_body(wsgi, staff_token):
    organism = OrganismFactory()
    post = PostFactory()
    for method, path, body in (
        ("POST", POSTS, {"title": "T", "body": "B", "related_organisms": ["a\u0000b"]}),
        ("PATCH", f"{POSTS}{post.slug}/", {"related_organisms": [organism.slug, "x\u0000"]}),
        ("PATCH", f"{POSTS}{post.slug}/", {"tags": ["ok", "n\u0000l"]}),
        ("PATCH", f"{ORGANISMS}{organism.slug}/", {"habitat\u0000": "key with NUL"}),
    ):
        response = _json(wsgi, method, path, body, staff_token)
        assert response.status_code == 400, response.content
        assert "NUL" in response.json()["error"]["message"]
    form = wsgi(
        "PATCH",
        f"{ORGANISMS}{organism.slug}/",
        "habitat=a%00b",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Token {staff_token}",
    )
    assert form.status_code == 400
    assert Organism.objects.get(pk=organism.pk).habitat == organism.habitat


@pytest.mark.django_db
def test_review_related_organisms_are_capped_before_any_lookup(wsgi, staff_token, django_assert_max_num_queries):
    post = PostFactory()
    slugs = [f"s{index}" for index in range(80_000)]  # just under the 1 MiB body limit
    with django_assert_max_num_queries(6):  # authentication and the post: none per slug
        response = _json(wsgi, "PATCH", f"{POSTS}{post.slug}/", {"related_organisms": slugs}, staff_token)
    assert response.status_code == 400
    assert "related_organisms" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_review_duplicate_json_keys_are_refused(wsgi, staff_token):
    body = b'{"common_name": "Lynx", "scientific_name": "Lynx lynx", "kingdom": "Animalia", "is_published": false, '
    body += b'"is_published": true}'
    response = _json(wsgi, "POST", ORGANISMS, body, staff_token)
    assert response.status_code == 400
    assert "is_published" in response.json()["error"]["message"]
    assert not Organism.objects.exists()
    single = body.replace(b'"is_published": false, ', b"")
    assert _json(wsgi, "POST", ORGANISMS, single, staff_token).status_code == 201  # valid but for the duplicate


# --- 11. tokens ---


@pytest.mark.django_db
def test_review_expired_token_is_replaced_on_sign_in(api_client, settings):
    user = UserFactory(username="curator", is_staff=True, password="correct horse battery staple")
    old = Token.objects.create(user=user)
    Token.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS + 1))
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "curator", "password": "correct horse battery staple"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = response.json()["token"]
    assert key != old.key
    assert api_client.get(ORGANISMS, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    again = api_client.post("/api/v1/auth/token/", {"username": "curator", "password": "correct horse battery staple"})
    assert again.json()["token"] == key  # still valid: the same one


@pytest.mark.django_db
def test_review_token_endpoint_is_for_staff_only(api_client):
    UserFactory(username="reader", is_staff=False, password="another long passphrase")
    response = api_client.post("/api/v1/auth/token/", {"username": "reader", "password": "another long passphrase"})
    assert response.status_code == 403
    assert not Token.objects.exists()


# --- 12. what the page cache may store ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_review_session_cookie_is_recognised_as_django_parses_it(wsgi, staff_token):
    OrganismFactory()
    for cookie in ("sessionid =abc", " sessionid=abc", "a=1; sessionid=abc"):
        response = wsgi("GET", ORGANISMS, HTTP_COOKIE=cookie)
        assert response.status_code == 200
        assert "X-Cache" not in response.headers, cookie  # went to Django, which decides who it is


def test_review_private_answers_are_never_stored():
    from biomuseum.pagecache.app import _storable

    json_type = ("Content-Type", "application/json")
    assert _storable("200 OK", [json_type])
    assert not _storable("200 OK", [json_type, ("Cache-Control", "private, no-store")])
    assert not _storable("200 OK", [json_type, ("Cache-Control", "no-store")])
    assert not _storable("200 OK", [json_type, ("Cache-Control", "Private")])
