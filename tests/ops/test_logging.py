"""Log lines: JSON (production) or console; one access line per request; the request id on every line of a
request, including cache hits, and on the Celery tasks it enqueues."""

import json
import logging
import subprocess
import sys
from types import SimpleNamespace

import pytest
from celery import shared_task

from ops import tasksignals
from ops.logs import ConsoleFormatter, JsonFormatter
from ops.requestids import current_request_id
from tests.factories import OrganismFactory
from tests.integration.processes import ROOT


def record(message: str = "hello %s", args=("world",), **extra) -> logging.LogRecord:
    made = logging.makeLogRecord({"name": "tests.logging", "levelno": logging.INFO, "levelname": "INFO"})
    made.msg, made.args = message, args
    made.__dict__.update(extra)
    return made


def test_json_formatter_writes_one_object_per_line_with_request_id_and_extras():
    token = current_request_id.set("req-abcdef12")
    try:
        line = JsonFormatter().format(record(detail={"n": 1}))
    finally:
        current_request_id.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "tests.logging"
    assert entry["request_id"] == "req-abcdef12"
    assert entry["detail"] == {"n": 1}
    assert entry["time"].endswith("Z")


def test_json_formatter_keeps_the_traceback_on_the_same_line():
    try:
        raise ValueError("broken")
    except ValueError:
        failed = record(exc_info=sys.exc_info())
    entry = json.loads(JsonFormatter().format(failed))
    assert "ValueError: broken" in entry["traceback"]


def test_console_formatter_is_readable():
    token = current_request_id.set("req-abcdef12")
    try:
        line = ConsoleFormatter().format(record(route="organism-list"))
    finally:
        current_request_id.reset(token)
    assert "INFO" in line and "[req-abcdef12] hello world" in line and "route=organism-list" in line


@pytest.mark.parametrize(("debug", "expected"), [("0", "json"), ("1", "console")])
def test_log_format_defaults_to_json_in_production_and_console_in_debug(debug, expected):
    env = {"DJANGO_ENV_FILE": "/nonexistent", "DJANGO_DEBUG": debug, "DJANGO_SECRET_KEY": "x" * 50, "PATH": "/usr/bin"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.LOG_FORMAT)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "biomuseum.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


@pytest.mark.django_db
def test_every_line_of_a_request_carries_its_id(wsgi, json_log, settings):
    settings.ROOT_URLCONF = "tests.urls_ops"
    response = wsgi("GET", "/api/v1/chatty/", HTTP_X_REQUEST_ID="client-chosen-id-1")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "client-chosen-id-1"
    lines = [line for line in json_log() if line["request_id"] == "client-chosen-id-1"]
    assert [line["message"] for line in lines if line["logger"] == "tests.views"] == [
        "first line from the view",
        "second line from the view",
    ]
    assert [line["logger"] for line in lines][-1] == "biomuseum.access"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_access_line_for_a_cache_hit(wsgi, json_log):
    OrganismFactory()
    wsgi("GET", "/api/v1/organisms/")
    response = wsgi("GET", "/api/v1/organisms/", REMOTE_ADDR="192.0.2.7")
    assert response["X-Cache"] == "HIT"
    assert [name for name, _ in response.header_list].count("X-Request-ID") == 1  # not twice (cache and wrapper)
    assert response["X-Response-Time"].endswith("ms")
    access = [line for line in json_log() if line["logger"] == "biomuseum.access"][-1]
    assert access["request_id"] == response["X-Request-ID"]
    assert access["method"] == "GET"
    assert access["path"] == "/api/v1/organisms/"
    assert access["route"] == "organism-list"
    assert access["status"] == 200
    assert access["cache"] == "HIT"
    assert access["client_ip"] == "192.0.2.7"
    assert access["duration_ms"] >= 0


@pytest.mark.django_db
def test_one_request_id_header_on_rendered_pages_and_errors(wsgi):
    for path in ("/api/v1/organisms/", "/api/v1/nothing/", "/ops/ready/"):
        response = wsgi("GET", path)
        assert [name for name, _ in response.header_list].count("X-Request-ID") == 1, path
        assert [name for name, _ in response.header_list].count("X-Response-Time") == 1, path


def test_hostile_request_ids_are_replaced(wsgi):
    response = wsgi("GET", "/ops/health/", HTTP_X_REQUEST_ID="bad id\r\nX-Evil: 1")
    assert response["X-Request-ID"] != "bad id\r\nX-Evil: 1"
    assert len(response["X-Request-ID"]) == 32


def test_enqueued_tasks_carry_the_request_id_header():
    headers = {}
    token = current_request_id.set("req-abcdef12")
    try:
        tasksignals.add_request_id(headers=headers)
    finally:
        current_request_id.reset(token)
    assert headers == {"request_id": "req-abcdef12"}
    empty = {}
    tasksignals.add_request_id(headers=empty)  # enqueued outside a request: nothing to pass
    assert empty == {}


def test_worker_restores_the_request_id_for_the_task_and_clears_it_after():
    task = SimpleNamespace(name="tests.task", request=SimpleNamespace(request_id="req-abcdef12", is_eager=False))
    tasksignals.restore_request_id(task_id="t-1", task=task)
    try:
        assert current_request_id.get() == "req-abcdef12"
        entry = json.loads(JsonFormatter().format(record()))
        assert (entry["request_id"], entry["task"], entry["task_id"]) == ("req-abcdef12", "tests.task", "t-1")
    finally:
        tasksignals.clear_request_id(task_id="t-1")
    assert current_request_id.get() is None


@shared_task(name="tests.ops.logs_a_line")
def logs_a_line() -> None:
    logging.getLogger("tests.tasks").info("inside the task")


def test_tasks_run_in_process_log_with_the_enqueuing_request_id(json_log):
    token = current_request_id.set("req-abcdef12")
    try:
        logs_a_line.apply()
    finally:
        current_request_id.reset(token)
    line = next(line for line in json_log() if line["message"] == "inside the task")
    assert line["request_id"] == "req-abcdef12"


@pytest.fixture
def stdout_handler():
    """A logger whose only way out is a BatchingStreamHandler with the JSON format, as deployed."""
    import io

    from ops.logs import BatchingStreamHandler

    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, interval=0.05)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    yield handler, stream
    root.handlers[:], root.level = saved[0], saved[1]


def test_batching_handler_queues_info_and_writes_warnings_at_once_in_order(stdout_handler):
    handler, stream = stdout_handler
    handler.interval = 60  # its flusher thread stays out of the way of this test
    log = logging.getLogger("tests.batching")
    log.info("first")
    log.info("second")
    assert stream.getvalue() == ""  # queued, not yet written
    log.warning("third")
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["first", "second", "third"]


def test_batching_handler_writes_queued_lines_within_its_interval(stdout_handler):
    import time

    handler, stream = stdout_handler
    logging.getLogger("tests.batching").info("soon")
    deadline = time.monotonic() + 5
    while "soon" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert json.loads(stream.getvalue())["message"] == "soon"


def test_access_line_written_directly_matches_the_one_through_logging(stdout_handler):
    from ops.logs import _direct_json_handler, write_access_line

    handler, stream = stdout_handler
    access = logging.getLogger("biomuseum.access")
    fields = {"method": "GET", "path": "/x", "route": "r", "status": 200, "duration_ms": 0.5, "client_ip": "::1"}
    token = current_request_id.set("req-12345678")
    root = logging.getLogger()
    captured_by_pytest, root.handlers[:] = root.handlers[:], [handler]  # pytest adds its own during a test
    try:
        assert _direct_json_handler(access) is handler  # the deployed topology: the direct way
        write_access_line(access, "%s %s %s %sms", ("GET", "/x", "200", 0.5), fields)
        handler.flush()
        direct = json.loads(stream.getvalue())
        extra = logging.StreamHandler(sys.stderr)  # a second handler: the line must go through logging
        access.addHandler(extra)
        extra.setLevel(logging.CRITICAL)
        assert _direct_json_handler(access) is None
        write_access_line(access, "%s %s %s %sms", ("GET", "/x", "200", 0.5), fields)
        access.removeHandler(extra)
        handler.flush()
        through_logging = json.loads(stream.getvalue().splitlines()[1])
    finally:
        current_request_id.reset(token)
        root.handlers[:] = captured_by_pytest
    assert direct.pop("time")[:4] == through_logging.pop("time")[:4]
    assert direct == through_logging
    assert direct["request_id"] == "req-12345678" and direct["message"] == "GET /x 200 0.5ms"
