"""Rate limits: the policy table answered with 429, the JSON envelope and RateLimit headers."""

import pytest

from biomuseum import ratelimits
from biomuseum.logins import waiting_time
from tests.factories import OrganismFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/organisms/"


@pytest.fixture
def tight_limits(settings):
    settings.RATELIMITS = {
        **settings.RATELIMITS,
        "public-read": ("3/m",),
        "login-ip": ("4/m",),
        "login-username": ("2/m",),
        "staff-write": ("2/m",),
    }


def test_public_reads_are_limited_with_429_envelope_and_headers(wsgi, tight_limits):
    OrganismFactory()
    responses = [wsgi("GET", LIST) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    limited = responses[3]
    body = limited.json()
    assert body["error"]["status"] == 429 and body["error"]["code"] == "throttled"
    assert body["retry_after"] == int(limited["Retry-After"]) >= 1
    assert limited["RateLimit-Limit"] == "3"
    assert limited["RateLimit-Remaining"] == "0"
    assert int(limited["RateLimit-Reset"]) <= 60


def test_public_read_limit_counts_cache_hits_too(wsgi, tight_limits, settings):
    settings.PAGE_CACHE_ENABLED = True
    OrganismFactory()
    statuses = [wsgi("GET", LIST).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_spoofed_forwarded_for_does_not_evade_limits_without_trusted_proxies(wsgi, tight_limits):
    OrganismFactory()
    statuses = [wsgi("GET", LIST, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_forwarded_for_trusted_only_as_far_as_the_proxy_count(wsgi, tight_limits, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    OrganismFactory()
    # The proxy appends the address it saw; whatever the client wrote to the left is ignored.
    same_client = [f"{spoof}, 203.0.113.9" for spoof in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4")]
    assert [wsgi("GET", LIST, HTTP_X_FORWARDED_FOR=xff).status_code for xff in same_client] == [200, 200, 200, 429]
    assert wsgi("GET", LIST, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 200  # another real client


def test_client_ip_ignores_malformed_forwarded_for(rf, settings):
    from biomuseum.clientip import client_ip

    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="not-an-ip", REMOTE_ADDR="192.0.2.1")) == "192.0.2.1"
    assert client_ip(rf.get("/", REMOTE_ADDR="192.0.2.1")) == "192.0.2.1"
    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.2, 10.0.0.1", REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == "198.51.100.2"


def test_staff_writes_are_limited_per_user(token_client, tight_limits):
    client = token_client("organisms.add_organism")
    statuses = []
    for index in range(3):
        body = {"common_name": "x", "scientific_name": f"Aus bus{index}", "kingdom": "Animalia"}
        response = client.post(LIST, body, format="json")
        statuses.append(response.status_code)
    assert statuses == [201, 201, 429]
    assert response.json()["error"]["code"] == "throttled"
    assert response["Retry-After"] and response["RateLimit-Limit"] == "2"
    other = token_client("organisms.add_organism")
    body = {"common_name": "x", "scientific_name": "Aus other", "kingdom": "Animalia"}
    assert other.post(LIST, body, format="json").status_code == 201


def test_token_login_is_limited_per_username(api_client, tight_limits):
    UserFactory(username="curator", is_staff=True)
    attempts = [
        api_client.post("/api/v1/auth/token/", {"username": "curator", "password": "wrong"}).status_code
        for _ in range(3)
    ]
    assert attempts == [400, 400, 429]
    other = api_client.post(
        "/api/v1/auth/token/", {"username": "someone-else", "password": "correct horse battery staple"}
    )
    assert other.status_code == 400  # a different username still gets its own tries


def test_token_login_is_limited_per_address(api_client, tight_limits):
    statuses = [
        api_client.post("/api/v1/auth/token/", {"username": f"user{i}", "password": "x"}).status_code for i in range(5)
    ]
    assert statuses == [400, 400, 400, 400, 429]


def test_admin_login_is_limited(client, tight_limits):
    UserFactory(username="curator", is_staff=True)
    statuses = [
        client.post("/admin/login/", {"username": "curator", "password": "wrong"}).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    response = client.post("/admin/login/", {"username": "curator", "password": "correct horse battery staple"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


def test_admin_login_limit_is_a_page_in_the_admins_look(client, tight_limits, settings):
    settings.MUSEUM_NAME = "Kew Museum"
    UserFactory(username="curator", is_staff=True)
    form = {"username": "curator", "password": "wrong"}
    for _ in range(2):
        client.post("/admin/login/?next=/admin/blogs/post/", form)
    response = client.post("/admin/login/?next=/admin/blogs/post/", form)
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    seconds = int(response["Retry-After"])
    assert 1 <= seconds <= 60
    html = response.content.decode()
    assert f"Wait {seconds} second{'s' if seconds != 1 else ''} before trying again." in html
    assert '<a href="/admin/login/?next=/admin/blogs/post/">Back to the sign-in page</a>' in html
    assert "<title>Too many sign-in attempts | Kew Museum curation</title>" in html
    assert '<div id="site-name"><a href="/admin/">Kew Museum curation</a></div>' in html
    assert "<script>" not in html  # the Content-Security-Policy refuses inline script


def test_waiting_time_reads_as_seconds_then_whole_minutes():
    assert [waiting_time(s) for s in (1, 45, 119, 120, 121, 3600)] == [
        "1 second", "45 seconds", "119 seconds", "2 minutes", "3 minutes", "60 minutes",
    ]  # fmt: skip


def test_decision_reports_the_tightest_window():
    windows = [ratelimits.Window("a", 10, 60, 30), ratelimits.Window("b", 100, 3600, 1800)]
    decision = ratelimits.decide(windows, [4, 95])
    assert (decision.limited, decision.remaining, decision.limit) == (False, 5, 100)
    limited = ratelimits.decide(windows, [11, 95])
    assert limited.limited and limited.reset == 30


def test_every_429_is_the_same_answer(wsgi, api_client, tight_limits, settings):
    """The page cache, DRF's handler and the ops endpoints all answer a limit with one envelope and header set."""
    settings.RATELIMITS = {**settings.RATELIMITS, "ops-token": ("1/m",)}
    settings.OPS_TOKEN = "t" * 40
    OrganismFactory()
    from_cache = [wsgi("GET", LIST) for _ in range(4)][-1]
    from_drf = [api_client.post("/api/v1/auth/token/", {"username": "a", "password": "b"}) for _ in range(5)][-1]
    from_ops = [api_client.get("/ops/pools/", HTTP_AUTHORIZATION="Bearer wrong") for _ in range(2)][-1]
    answers = [from_cache, from_drf, from_ops]
    assert [answer.status_code for answer in answers] == [429, 429, 429]
    bodies = [answer.json() for answer in answers]
    assert {tuple(sorted(body)) for body in bodies} == {("error", "request_id", "retry_after")}
    assert {(body["error"]["code"], body["error"]["message"]) for body in bodies} == {
        ("throttled", "Too many requests. Retry later.")
    }
    for answer, body in zip(answers, bodies, strict=True):
        assert int(answer["Retry-After"]) == body["retry_after"] >= 1
        assert answer["RateLimit-Remaining"] == "0"
        assert body["request_id"] == answer["X-Request-ID"]
