"""A real Celery worker on a throwaway Redis broker: the enqueuing request's id is in the task's log
lines, and the task's outcome is counted where /ops/metrics reads it."""

import json
import signal
import subprocess
import time

import pytest
import redis
from celery import Celery

from ops import broker
from ops.requestids import current_request_id
from tests.conftest import ThrowawayRedis

from .processes import ROOT, VENV_BIN, manage, project_env

pytestmark = pytest.mark.integration


def test_worker_logs_carry_the_request_id_and_outcomes_are_counted(tmp_path):
    broker_server = ThrowawayRedis()
    broker_server.start()
    env = project_env(tmp_path, CELERY_BROKER_URL=broker_server.url, LOG_FORMAT="json")
    manage(env, "migrate", "--noinput")
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [str(VENV_BIN / "celery"), "-A", "biomuseum", "worker", "--queues", "default", "--concurrency", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        publisher = Celery("publisher", broker=broker_server.url)
        token = current_request_id.set("req-from-the-web-1")
        try:
            publisher.send_task("ops.cleanup", queue="default")
        finally:
            current_request_id.reset(token)
        outcomes = redis.Redis.from_url(broker_server.url)
        deadline = time.monotonic() + 60
        while outcomes.hget(broker.OUTCOMES_KEY, "ops.cleanup\tsuccess") is None:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: finish the task at hand, then exit
        exit_code = worker.wait(timeout=30)
        broker_server.stop()
    assert exit_code == 0
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    finished = [line for line in lines if line["message"] == "cleanup finished"]
    assert len(finished) == 1, log_path.read_text()[-3000:]
    assert finished[0]["request_id"] == "req-from-the-web-1"
    assert finished[0]["task"] == "ops.cleanup"
    assert finished[0]["task_id"]
