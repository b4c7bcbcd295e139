"""/ops/metrics: protected Prometheus text; request, page-cache and Celery counts (the cross-worker view is
tests/integration/test_metrics_workers.py)."""

import pytest
from celery import shared_task
from celery.signals import task_success
from prometheus_client.parser import text_string_to_metric_families

from ops import broker
from tests.conftest import require_postgresql
from tests.factories import OrganismFactory

TOKEN = "a-long-random-ops-token-for-tests"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def _ops_token(settings):
    settings.OPS_TOKEN = TOKEN
    settings.CELERY_BROKER_URL = ""


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/ops/metrics", **AUTH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@shared_task(name="tests.ops.succeeds")
def succeeds() -> int:
    return 1


@shared_task(name="tests.ops.fails")
def fails() -> None:
    raise ValueError("this task fails")


@pytest.mark.django_db
def test_metrics_refuse_anonymous_and_non_staff(client):
    from tests.factories import UserFactory

    assert client.get("/ops/metrics").status_code == 401
    client.force_login(UserFactory(is_staff=False))
    assert client.get("/ops/metrics").status_code == 403
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/ops/metrics").status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_metrics_count_requests_by_route_method_status_and_cache_outcomes(client, wsgi):
    OrganismFactory.create_batch(2)
    before = scrape(client)
    for _ in range(3):
        assert wsgi("GET", "/api/v1/organisms/").status_code == 200
    assert wsgi("GET", "/api/v1/no-such-thing/").status_code == 404
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "biomuseum_http_request_duration_seconds_count"
    assert grew(requests, route="organism-list", method="GET", status="200") == 3
    assert grew(requests, route="unmatched", method="GET", status="404") == 1
    assert (
        grew(
            "biomuseum_http_request_duration_seconds_bucket",
            route="organism-list",
            method="GET",
            status="200",
            le="+Inf",
        )
        == 3
    )  # noqa: E501
    assert grew("biomuseum_page_cache_requests_total", route="organism-list", outcome="miss") == 1
    assert grew("biomuseum_page_cache_requests_total", route="organism-list", outcome="hit") == 2
    routes = {dict(labels).get("route") for name, labels in after if name.startswith("biomuseum_http")}
    assert not any(route.startswith("/") for route in routes if route)  # never raw paths


def test_metrics_count_tasks_run_in_process(client, db):
    before = scrape(client)
    succeeds.apply()
    succeeds.apply()
    fails.apply()
    after = scrape(client)
    tasks = "biomuseum_celery_tasks_total"
    assert (
        value(after, tasks, task="tests.ops.succeeds", outcome="success")
        - value(before, tasks, task="tests.ops.succeeds", outcome="success")
        == 2
    )
    assert (
        value(after, tasks, task="tests.ops.fails", outcome="failure")
        - value(before, tasks, task="tests.ops.fails", outcome="failure")
        == 1
    )


def test_metrics_count_worker_task_outcomes_in_the_broker(client, db, settings, redis_url):
    import redis

    settings.CELERY_BROKER_URL = redis_url
    server = redis.Redis.from_url(redis_url)
    server.delete(broker.OUTCOMES_KEY)
    try:
        # What a worker process sends when it has run the task (not in-process: is_eager is off).
        task_success.send(sender=succeeds, result=1)
        task_success.send(sender=succeeds, result=1)
        assert server.hget(broker.OUTCOMES_KEY, "tests.ops.succeeds\tsuccess") == b"2"
        samples = scrape(client)
    finally:
        server.delete(broker.OUTCOMES_KEY)
    assert value(samples, "biomuseum_celery_tasks_total", task="tests.ops.succeeds", outcome="success") >= 2
    assert value(samples, "biomuseum_celery_queue_length", queue="images") == 0


def test_metrics_pool_gauges_on_postgresql(client, db):
    from django.db import connection

    require_postgresql(connection)
    samples = scrape(client)
    assert value(samples, "biomuseum_db_pool_connections", state="max") >= 1


@pytest.mark.django_db
def test_metrics_and_pools_count_bumps_and_late_acknowledgements(client, throwaway_redis):
    """A subscriber that never answers (here a bare connection on the bump channel) is counted as late."""
    import redis
    from django.core.cache import caches

    from biomuseum.pagecache import bump, local

    cache = caches["default"]
    silent = redis.Redis.from_url(throwaway_redis.url).pubsub()
    silent.subscribe(local.channel_for(cache.client.get_client(), cache.client.make_key))
    silent.get_message(timeout=1)  # the subscription is confirmed
    before = scrape(client)
    assert bump("organisms") is True
    after = scrape(client)
    assert value(after, "biomuseum_page_cache_bumps_total") == value(before, "biomuseum_page_cache_bumps_total") + 1
    late = value(after, "biomuseum_page_cache_late_acks_total") - value(before, "biomuseum_page_cache_late_acks_total")
    assert late == 1
    pools = client.get("/ops/pools/", **AUTH).json()["page_cache"]["bumps"]
    assert pools["tokens"] == "redis"
    assert pools["late_acks"] == value(after, "biomuseum_page_cache_late_acks_total")
    silent.close()


@pytest.mark.django_db(transaction=True)
def test_metrics_count_bumps_on_the_shared_token_file(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    before = scrape(client)
    OrganismFactory()  # one committed write the public sees
    after = scrape(client)
    assert value(after, "biomuseum_page_cache_bumps_total") == value(before, "biomuseum_page_cache_bumps_total") + 1
    assert value(after, "biomuseum_page_cache_late_acks_total") == 0
