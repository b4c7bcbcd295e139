"""/ops/metrics on a real gunicorn with two workers: every worker's requests are counted, whichever answers."""

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .processes import Gunicorn, http, project_env

pytestmark = pytest.mark.integration

TOKEN = "a-long-random-ops-token-for-tests"


def counted(server: Gunicorn, route: str) -> float:
    """Requests counted for `route` in one scrape."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, _, body = http("GET", server.url + "/ops/metrics", headers=auth)
    assert status == 200
    total = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "biomuseum_http_request_duration_seconds_count" and sample.labels["route"] == route:
                total += sample.value
    return total


def health_lines(log_path) -> list[dict]:
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "biomuseum.access" and line["path"] == "/api/health"]


def test_metrics_add_up_every_workers_requests(tmp_path):
    env = project_env(tmp_path, OPS_TOKEN=TOKEN, WEB_CONCURRENCY="2", GUNICORN_THREADS="2", GUNICORN_KEEPALIVE="0")
    log_path = tmp_path / "gunicorn.log"
    server = Gunicorn(env, log_path).start()
    try:
        sent = 0
        # Each request is a new connection and either worker may take it: go on until both have served some.
        while sent < 400 and not (sent % 10 == 0 and len({line["pid"] for line in health_lines(log_path)}) == 2):
            assert http("GET", server.url + "/api/health")[0] == 200
            sent += 1
        assert len({line["pid"] for line in health_lines(log_path)}) == 2, "one worker answered everything"
        # Workers record what they served at most ops.metrics.FLUSH_EVERY (0.05 s) later: wait for that once.
        deadline = time.monotonic() + 5
        while counted(server, "api-health") != sent and time.monotonic() < deadline:
            time.sleep(0.05)
        scrapes = [counted(server, "api-health") for _ in range(20)]
    finally:
        server.stop()
    assert set(scrapes) == {float(sent)}  # the whole count, from whichever worker answered
