"""SIGTERM on a real gunicorn: readiness turns 503 at once, requests in flight finish with 200, the
listener closes, and the master exits before graceful_timeout."""

import json
import signal
import socket
import threading
import time

import pytest

from .processes import Gunicorn, http, project_env

pytestmark = pytest.mark.integration

GRACEFUL_TIMEOUT = 15


def start_server(tmp_path, **extra: str) -> Gunicorn:
    env = project_env(
        tmp_path,
        DJANGO_ROOT_URLCONF="tests.urls_ops",  # adds /api/v1/slow/ (test-only)
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
        GUNICORN_GRACEFUL_TIMEOUT=str(GRACEFUL_TIMEOUT),
        **extra,
    )
    return Gunicorn(env, tmp_path / "gunicorn.log").start()


def slow_requests(server: Gunicorn, count: int, seconds: float) -> tuple[list[threading.Thread], list]:
    results: list = []

    def one() -> None:
        try:
            status, _, body = http("GET", f"{server.url}/api/v1/slow/?seconds={seconds}", timeout=30)
            results.append((status, json.loads(body)))
        except Exception as exc:  # a dropped request is what this test is looking for
            results.append((None, repr(exc)))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    # Wait until the views have really started (they log it), so the requests are in flight.
    deadline = time.monotonic() + 20
    while server.log_path.read_text().count("slow request started") < count:
        assert time.monotonic() < deadline, "the slow requests never reached the views"
        time.sleep(0.05)
    return threads, results


def refused(server: Gunicorn) -> bool:
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    except OSError:
        return True
    return False


def test_shutdown_finishes_every_request_in_flight(tmp_path):
    server = start_server(tmp_path)
    try:
        threads, results = slow_requests(server, count=4, seconds=2)
        server.process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=30)
        exit_code = server.process.wait(timeout=GRACEFUL_TIMEOUT)  # raises if it outlives graceful_timeout
    finally:
        server.stop()
    assert [status for status, _ in results] == [200] * 4, results
    assert exit_code == 0
    assert refused(server)


def test_shutdown_drain_answers_ready_503_while_still_serving(tmp_path):
    server = start_server(tmp_path, GUNICORN_DRAIN_SECONDS="2")
    try:
        status, _, body = http("GET", server.url + "/ops/ready/")
        assert (status, json.loads(body)["status"]) == (200, "ok")
        threads, results = slow_requests(server, count=3, seconds=3)
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while (status := http("GET", server.url + "/ops/ready/")[0]) == 200 and time.monotonic() < deadline:
            time.sleep(0.02)  # the master is handling the signal
        status, _, body = http("GET", server.url + "/ops/ready/")
        assert (status, json.loads(body)["status"]) == (503, "draining")
        # Still serving while the load balancer takes the instance out: liveness and new requests answer.
        assert http("GET", server.url + "/ops/health/")[0] == 200
        for thread in threads:
            thread.join(timeout=30)
        exit_code = server.process.wait(timeout=GRACEFUL_TIMEOUT)
    finally:
        server.stop()
    assert [status for status, _ in results] == [200] * 3, results
    assert exit_code == 0
    assert refused(server)
