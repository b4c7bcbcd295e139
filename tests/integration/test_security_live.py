"""The review's server-level findings on a real gunicorn (docs/RELIABILITY.md, "Security review"): rate limits
on a dual-stack bind and with many connections on local copies, credentials that do not authenticate, the
scheme behind a proxy gunicorn does not trust, raw traversal paths, and PATCH racing DELETE."""

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection

import pytest

from .processes import Gunicorn, http, manage, project_env

pytestmark = pytest.mark.integration

LIST = "/api/v1/organisms/"


def _get(port: int, path: str, *, source: str = "127.0.0.1", method: str = "GET", headers=None, body=None):
    """One request from a chosen loopback source address (127.0.0.2 is another client)."""
    connection = HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _served(tmp_path, name: str, **env_extra) -> tuple[Gunicorn, dict]:
    directory = tmp_path / name
    directory.mkdir()
    env = project_env(directory, **env_extra)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    return Gunicorn(env, directory / "gunicorn.log").start(), env


def test_live_ipv4_clients_on_a_dual_stack_bind_have_their_own_limits(tmp_path, redis_server):
    server, env = _served(
        tmp_path,
        "dualstack",
        REDIS_URL=redis_server.url,
        RATELIMIT_PUBLIC_READ="5/h",
        RATELIMIT_LOGIN_IP="3/h",
        RATELIMIT_LOGIN_USERNAME="100/h",
    )
    server.stop()
    server = Gunicorn(server.env, tmp_path / "dualstack" / "bound.log")
    server.env["GUNICORN_BIND"] = f"[::]:{server.port}"  # IPv4 clients arrive as ::ffff:a.b.c.d
    server.start()
    try:
        statuses = [_get(server.port, LIST)[0] for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        assert _get(server.port, LIST, source="127.0.0.2")[0] == 200  # another client, its own budget

        create = "User.objects.create_user('curator', password='correct horse battery staple', is_staff=True)"
        manage(env, "shell", "-c", f"from django.contrib.auth.models import User; {create}")
        login = "/api/v1/auth/token/"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        for _ in range(4):
            _get(server.port, login, method="POST", headers=form, body="username=someone&password=wrong")
        status, _, body = _get(
            server.port, login, source="127.0.0.3", method="POST", headers=form,
            body="username=curator&password=correct+horse+battery+staple",
        )  # fmt: skip
        assert status == 200, body
    finally:
        server.stop()


def test_live_many_connections_on_local_copies_never_exceed_the_limit(tmp_path, redis_server):
    limit = 300
    server, _ = _served(tmp_path, "crowd", REDIS_URL=redis_server.url, RATELIMIT_PUBLIC_READ=f"{limit}/h")
    statuses: Counter = Counter()
    lock = threading.Lock()

    def client(requests: int) -> None:
        connection = HTTPConnection("127.0.0.1", server.port, timeout=10)  # keep-alive
        for _ in range(requests):
            connection.request("GET", LIST)
            response = connection.getresponse()
            response.read()
            with lock:
                statuses[response.status] += 1
        connection.close()

    try:
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(client, [25] * 32))  # 800 requests, one client address
    finally:
        server.stop()
    assert statuses[200] + statuses[429] == 800
    assert statuses[200] <= limit  # never more, however many connections and processes answer
    assert statuses[200] >= limit * 0.8, statuses  # spares a process set aside and did not spend are few


def test_live_credentials_that_do_not_authenticate_are_refused_or_limited(tmp_path, redis_server):
    server, _ = _served(tmp_path, "credentials", REDIS_URL=redis_server.url, RATELIMIT_PUBLIC_READ="5/h")
    try:
        foreign = [_get(server.port, LIST, headers={"Authorization": "Foo bar"})[0] for _ in range(10)]
        assert set(foreign) == {401}
        forged = [_get(server.port, LIST, headers={"Cookie": "sessionid=forged"})[0] for _ in range(7)]
        assert forged == [200] * 5 + [429] * 2
        assert _get(server.port, LIST)[0] == 429  # the same client, cached or not: one budget
    finally:
        server.stop()


def test_live_scheme_behind_an_untrusted_proxy_is_djangos(tmp_path):
    # gunicorn trusts no proxy here (FORWARDED_ALLOW_IPS), so only Django reads X-Forwarded-Proto.
    extra = {"DJANGO_BEHIND_TLS_PROXY": "1", "FORWARDED_ALLOW_IPS": "192.0.2.1"}
    server, _ = _served(tmp_path, "proxy", **extra)
    try:
        https = {"X-Forwarded-Proto": "https"}
        status, headers, body = _get(server.port, LIST + "?page_size=1", headers=https)
        assert status == 200 and json.loads(body)["next"].startswith("https://")
        status, headers, body = _get(server.port, LIST + "?page_size=1")  # plain http: its own entry
        assert json.loads(body)["next"].startswith("http://")
        status, headers, body = _get(server.port, LIST + "?page_size=1", headers=https)
        assert headers["X-Cache"] == "HIT" and json.loads(body)["next"].startswith("https://")
    finally:
        server.stop()
    redirecting = Gunicorn({**server.env, "DJANGO_SECURE_SSL_REDIRECT": "1"}, tmp_path / "proxy" / "redirect.log")
    redirecting.start(ready_path="/ops/health/")
    try:
        https = {"X-Forwarded-Proto": "https"}
        assert _get(redirecting.port, LIST, headers=https)[0] == 200
        assert _get(redirecting.port, LIST, headers=https)[1]["X-Cache"] == "HIT"
        status, headers, _ = _get(redirecting.port, LIST)  # http: redirected, cached page or not
        assert status == 301 and headers["Location"].startswith("https://")
    finally:
        redirecting.stop()


@pytest.mark.parametrize(
    "path",
    [
        "/media/renditions/../originals/organismimage/photo.jpg",
        "/media/renditions/%2e%2e/originals/organismimage/photo.jpg",
        "/media/renditions/%2E%2E%2Foriginals%2Forganismimage%2Fphoto.jpg",
        "/media/renditions/..%2foriginals/organismimage/photo.jpg",
        "/media/originals/organismimage/photo.jpg",
    ],
)
def test_live_originals_are_never_served_whatever_the_path(tmp_path, path):
    server, env = _served(tmp_path, "media")
    media = tmp_path / "media" / "media"
    (media / "originals" / "organismimage").mkdir(parents=True)
    (media / "originals" / "organismimage" / "photo.jpg").write_bytes(b"GPS position inside")
    (media / "renditions").mkdir()
    (media / "renditions" / "a.webp").write_bytes(b"rendition")
    try:
        assert _get(server.port, "/media/renditions/a.webp")[0] == 200
        status, _, body = _get(server.port, path)
        assert status in (400, 404)
        assert b"GPS position inside" not in body
    finally:
        server.stop()


def test_live_patch_racing_delete_never_500s_nor_resurrects(tmp_path):
    server, env = _served(tmp_path, "race", WEB_CONCURRENCY="1", GUNICORN_THREADS="8")
    token = (
        manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token;"
            "u = User.objects.create_user('editor', is_staff=True, is_superuser=True);"
            "print(Token.objects.create(user=u).key)",
        )
        .strip()
        .splitlines()[-1]
    )
    slugs = json.loads(
        manage(env, "shell", "-c", "import json; from organisms.models import Organism; "
               "print(json.dumps(list(Organism.objects.values_list('slug', flat=True)[:20])))").splitlines()[-1]
    )  # fmt: skip
    auth = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def race(slug: str) -> tuple[int, int]:
        path = f"{server.url}{LIST}{slug}/"
        with ThreadPoolExecutor(2) as pool:
            patch = pool.submit(http, "PATCH", path, json.dumps({"habitat": "Edited"}).encode(), auth)
            delete = pool.submit(http, "DELETE", path, None, auth)
            return patch.result()[0], delete.result()[0]

    try:
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(race, slugs))
        for slug, (patched, deleted) in zip(slugs, outcomes, strict=True):
            assert patched in (200, 404), (slug, patched)
            assert deleted in (204, 404), (slug, deleted)
            if deleted == 204:
                assert http("GET", f"{server.url}{LIST}{slug}/", headers=auth)[0] == 404, slug  # stays deleted
    finally:
        server.stop()
