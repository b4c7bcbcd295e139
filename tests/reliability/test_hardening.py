"""The review's hardening items (docs/RELIABILITY.md, "Security review"): headers on every answer, charsets,
subscription addresses, ops token guesses, targeted sign-in lockouts, and who edits whose posts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from biomuseum.securityheaders import CONTENT_SECURITY_POLICY
from blogs import services as blog_services
from blogs.models import Subscriber, SubscriberStatus
from tests.factories import OrganismFactory, PostFactory, UserFactory

ORGANISMS = "/api/v1/organisms/"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


# --- Content-Security-Policy: the admin and the API docs, with no inline script to need it loosened ---


@pytest.mark.django_db
def test_hardening_html_pages_carry_a_csp_they_satisfy(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    organism = OrganismFactory()
    post = PostFactory()
    for path in (
        "/api/docs/",
        "/admin/",
        "/admin/organisms/organism/",
        f"/admin/organisms/organism/{organism.pk}/change/",
        f"/admin/blogs/post/{post.pk}/change/",
        "/admin/blogs/post/add/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert not INLINE_SCRIPT.search(response.content.decode()), path  # script-src 'self' holds
    client.logout()
    assert client.get("/admin/login/")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    script = client.get("/api/docs/?script")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


# --- the page cache's own answers get the headers Django would have sent ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_hardening_page_cache_304_and_429_carry_security_headers(wsgi, settings):
    OrganismFactory()
    etag = wsgi("GET", ORGANISMS)["ETag"]
    not_modified = wsgi("GET", ORGANISMS, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    for response in (not_modified,):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("1/m",)}
    limited = [wsgi("GET", ORGANISMS) for _ in range(3)][-1]
    assert limited.status_code == 429
    assert limited["X-Content-Type-Options"] == "nosniff"
    assert limited["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_hardening_errors_are_never_cacheable(wsgi):
    for path in ("/api/v1/organisms/no-such-species/", "/api/v1/nowhere/", "/api/v1/organisms/?colour=blue"):
        response = wsgi("GET", path)
        assert response.status_code in (400, 404), path
        assert "no-store" in response["Cache-Control"], path


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_hardening_gzip_refused_with_q0_is_not_sent(wsgi):
    OrganismFactory.create_batch(20)
    for accepted in ("gzip", "GZIP", "deflate, gzip;q=0.5", "x-gzip"):
        assert wsgi("GET", ORGANISMS, HTTP_ACCEPT_ENCODING=accepted).get("Content-Encoding") == "gzip", accepted
    for refused in ("gzip;q=0", "gzip; q=0.0, identity", "*;q=0", "br"):
        response = wsgi("GET", ORGANISMS, HTTP_ACCEPT_ENCODING=refused)
        assert response.get("Content-Encoding") is None, refused
        assert response.json()["results"]
    assert wsgi("GET", ORGANISMS, HTTP_ACCEPT_ENCODING="br;q=1, *;q=0.5").get("Content-Encoding") == "gzip"


# --- charsets ---


@pytest.mark.django_db
def test_hardening_forms_in_other_charsets_are_refused(wsgi, client):
    user = UserFactory(is_staff=True, is_superuser=True)
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user).key
    organism = OrganismFactory()
    for charset in ("utf-7", "iso-8859-1", "no-such-codec"):
        response = wsgi(
            "PATCH",
            f"{ORGANISMS}{organism.slug}/",
            "habitat=%2BADw-script%2BAD4-",
            content_type=f"application/x-www-form-urlencoded; charset={charset}",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        assert response.status_code == 415, charset
        assert response.json()["error"]["code"] == "unsupported_media_type"
    client.force_login(user)
    admin = client.post(
        f"/admin/organisms/organism/{organism.pk}/change/",
        "habitat=x",
        content_type="application/x-www-form-urlencoded; charset=utf-7",
    )
    assert admin.status_code == 415
    utf8 = wsgi(
        "PATCH",
        f"{ORGANISMS}{organism.slug}/",
        "habitat=Forest",
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert utf8.status_code == 200


# --- subscriptions ---


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["a@[127.0.0.1]", "a@localhost", "a@intranet", "a@192.0.2.1", "a@[IPv6:::1]"])
def test_hardening_subscriptions_need_a_named_public_domain(api_client, email):
    response = api_client.post("/api/v1/subscriptions/", {"email": email}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_hardening_subscribing_a_confirmed_address_does_the_same_work(django_capture_on_commit_callbacks):
    """Timing must not tell a confirmed address from another: the same queries, the same job queued."""
    Subscriber.objects.create(email="confirmed@example.org", status=SubscriberStatus.CONFIRMED)
    Subscriber.objects.create(email="pending@example.org", status=SubscriberStatus.PENDING)
    work = {}
    for email in ("confirmed@example.org", "pending@example.org"):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as queued:
            blog_services.subscriber_subscribe(email=email)
        work[email] = (len(queries), len(queued))
    assert work["confirmed@example.org"] == work["pending@example.org"]
    assert Subscriber.objects.get(email="confirmed@example.org").status == SubscriberStatus.CONFIRMED


# --- ops bearer guesses and sign-in lockouts ---


@pytest.mark.django_db
def test_hardening_ops_token_guesses_are_limited(client, settings):
    settings.OPS_TOKEN = "the-right-token-for-this-test"
    settings.RATELIMITS = {**settings.RATELIMITS, "ops-token": ("3/m",)}
    guesses = [client.get("/ops/pools/", HTTP_AUTHORIZATION=f"Bearer guess-{n}").status_code for n in range(5)]
    assert guesses == [401, 401, 401, 429, 429]
    other = client.get("/ops/pools/", HTTP_AUTHORIZATION="Bearer the-right-token-for-this-test", REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 200  # another address is not locked out


@pytest.mark.django_db
def test_hardening_wrong_passwords_from_one_place_do_not_lock_the_curator_out(api_client, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login-ip": ("100/m",), "login-username": ("5/m",)}
    UserFactory(username="curator", is_staff=True, password="correct horse battery staple")
    attacker = {"REMOTE_ADDR": "203.0.113.5"}
    for _ in range(6):
        api_client.post("/api/v1/auth/token/", {"username": "curator", "password": "wrong"}, **attacker)
    blocked = api_client.post(
        "/api/v1/auth/token/", {"username": "curator", "password": "correct horse battery staple"}, **attacker
    )
    assert blocked.status_code == 429
    curator = api_client.post(
        "/api/v1/auth/token/",
        {"username": "curator", "password": "correct horse battery staple"},
        REMOTE_ADDR="198.51.100.20",
    )
    assert curator.status_code == 200


@pytest.mark.django_db
def test_hardening_guesses_spread_over_addresses_meet_the_account_backoff(api_client, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login-account": ("4/h",)}
    UserFactory(username="curator", is_staff=True, password="correct horse battery staple")
    statuses = [
        api_client.post(
            "/api/v1/auth/token/", {"username": "curator", "password": "wrong"}, REMOTE_ADDR=f"203.0.113.{n}"
        ).status_code
        for n in range(6)
    ]
    assert statuses == [400] * 4 + [429] * 2


# --- editing: curators edit each other's posts; the byline stays the author's ---


@pytest.mark.django_db
def test_hardening_editing_a_colleagues_post_keeps_the_byline(token_client):
    author = UserFactory(username="writer")
    post = PostFactory(author=author, title="Owls at dusk")
    editor = token_client("blogs.change_post")
    response = editor.patch(f"/api/v1/posts/{post.slug}/", {"title": "Owls at dawn"}, format="json")
    assert response.status_code == 200
    post.refresh_from_db()
    assert post.title == "Owls at dawn"
    assert post.author == author
