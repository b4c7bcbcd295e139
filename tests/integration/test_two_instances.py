"""Two real gunicorn instances sharing one real Redis: an edit through one is seen through the other at once."""

import json

import pytest

from tests.conftest import ThrowawayRedis

from .processes import Gunicorn, http, manage, project_env

pytestmark = pytest.mark.integration


@pytest.fixture
def two_instances(tmp_path):
    redis = ThrowawayRedis()
    redis.start()
    env = project_env(
        tmp_path,
        REDIS_URL=redis.url,
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="4",
        DJANGO_ALLOWED_HOSTS="museum.test,127.0.0.1",
    )
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    token = (
        manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User, Permission;"
            "from rest_framework.authtoken.models import Token;"
            "u = User.objects.create_user('editor', is_staff=True);"
            "u.user_permissions.add(Permission.objects.get(codename='change_organism'));"
            "print(Token.objects.create(user=u).key)",
        )
        .strip()
        .splitlines()[-1]
    )
    servers = [Gunicorn(env, tmp_path / f"gunicorn-{name}.log").start() for name in ("a", "b")]
    yield servers, token
    for server in servers:
        server.stop()
    redis.stop()


def test_edit_through_one_instance_is_seen_through_the_other(two_instances):
    (first, second), token = two_instances
    public = {"Host": "museum.test"}  # both instances serve one public site behind a load balancer
    detail = "/api/v1/organisms/panthera-uncia/"
    status, headers, body = http("GET", first.url + detail, headers=public)
    assert status == 200 and headers["X-Cache"] == "MISS"
    status, headers, body = http("GET", second.url + detail, headers=public)
    assert headers["X-Cache"] == "HIT"  # one shared cache
    assert json.loads(body)["habitat"] != "Moved to the museum garden"

    patch = json.dumps({"habitat": "Moved to the museum garden"}).encode()
    auth = {**public, "Authorization": f"Token {token}", "Content-Type": "application/json"}
    status, headers, _ = http("PATCH", first.url + detail, patch, auth)
    assert status == 200
    assert headers["Cache-Control"] == "private, no-store"

    status, headers, body = http("GET", second.url + detail, headers=public)
    assert status == 200
    assert headers["X-Cache"] == "MISS"
    assert json.loads(body)["habitat"] == "Moved to the museum garden"
    status, headers, _ = http(
        "GET", second.url + "/api/v1/organisms/?utm_campaign=spring&search=panthera", headers=public
    )
    status2, headers2, _ = http("GET", first.url + "/api/v1/organisms/?search=panthera", headers=public)
    assert (status, status2) == (200, 200)
    assert headers2["X-Cache"] == "HIT"  # tracking parameters did not split the entry across instances
