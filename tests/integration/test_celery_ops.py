"""A real Celery worker on a throwaway Redis broker: the enqueuing request's id is in the task's log
lines, the task's outcome is counted where /ops/metrics reads it, and SIGTERM lets the task at hand finish."""

import contextlib
import json
import os
import signal
import subprocess
import time

import pytest
import redis
from celery import Celery

from ops import broker
from ops.requestids import current_request_id
from tests.conftest import ThrowawayRedis

from .processes import ROOT, VENV_BIN, manage, project_env, wait_until

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


SLOW_TASK = "tests.integration.record_slowly"
SLOW_TASK_SECONDS = 3.0


def test_worker_sigterm_finishes_the_running_task_once_and_leaves_nothing_unacked(tmp_path):
    broker_server = ThrowawayRedis()
    broker_server.start()
    env = project_env(tmp_path, CELERY_BROKER_URL=broker_server.url, LOG_FORMAT="json")
    log_path = tmp_path / "worker.log"
    # As the Procfile starts it (prefork, acks_late from settings), plus the test's slow task.
    command = [str(VENV_BIN / "celery"), "-A", "biomuseum", "worker", "--queues", "images,email,default"]
    command += ["--concurrency", "1", "--prefetch-multiplier", "1", "--loglevel", "INFO"]
    command += ["--include", "tests.integration.worker_tasks", "--without-mingle", "--without-gossip"]
    store = redis.Redis.from_url(broker_server.url)
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until(lambda: " ready." in log_path.read_text() or worker.poll() is not None, timeout=60, what="ready")
        assert worker.poll() is None, log_path.read_text()[-3000:]
        Celery("publisher", broker=broker_server.url).send_task(
            SLOW_TASK, args=["job", SLOW_TASK_SECONDS], queue="default"
        )
        wait_until(lambda: store.llen("job:started"), timeout=60, what="the task to start")
        terminated_at = time.time()
        worker.send_signal(signal.SIGTERM)  # to the main process, as `docker stop` or Kubernetes sends it
        exit_code = worker.wait(timeout=60)
        exited_at = time.time()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)  # pool children of a worker that did not shut down
        worker.wait(timeout=30)
        started, finished = store.lrange("job:started", 0, -1), store.lrange("job:finished", 0, -1)
        left = {
            "queued": store.llen("default"),
            "unacked": store.hlen("unacked"),
            "index": store.zcard("unacked_index"),
        }
        success = store.hget(broker.OUTCOMES_KEY, f"{SLOW_TASK}\tsuccess")
        broker_server.stop()
    assert exit_code == 0, log_path.read_text()[-3000:]
    assert len(started) == 1 and len(finished) == 1, log_path.read_text()[-3000:]  # ran once, to its end
    assert terminated_at < float(finished[0]) < exited_at  # it was running at SIGTERM; the worker waited for it
    assert left == {"queued": 0, "unacked": 0, "index": 0}  # acknowledged: nothing for a next worker to redo
    assert success == b"1"
    assert "Warm shutdown" in log_path.read_text()
