"""Unhandled errors: the JSON 500 envelope's error_id is in the log line with the traceback and, with
SENTRY_DSN set, is the id of the Sentry event (checked against a local stand-in for Sentry's ingest)."""

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from tests.integration.processes import Gunicorn, http, manage, project_env


def test_error_id_is_in_the_log_line_with_the_traceback(settings, json_log, db):
    settings.ROOT_URLCONF = "tests.urls_ops"
    response = Client(raise_request_exception=False).get("/api/v1/boom/", HTTP_X_REQUEST_ID="req-boom-0001")
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "server_error"
    assert len(body["error_id"]) == 32
    logged = [line for line in json_log() if line.get("error_id") == body["error_id"]]
    assert len(logged) == 1
    assert logged[0]["level"] == "ERROR"
    assert logged[0]["request_id"] == "req-boom-0001"
    assert "RuntimeError: an unexpected failure" in logged[0]["traceback"]


def test_sentry_stays_off_without_a_dsn(settings):
    import sentry_sdk

    assert settings.SENTRY_DSN == ""
    assert not sentry_sdk.get_client().is_active()


class SentryIngest:
    """A local stand-in for Sentry's ingest endpoint: records every envelope POSTed to /api/<project>/envelope/."""

    def __init__(self):
        self.envelopes: list[list[dict]] = []
        received = self.envelopes

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.startswith("/api/") and self.path.endswith("/envelope/"):
                    received.append([json.loads(line) for line in body.splitlines() if line.strip()])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://public@127.0.0.1:{self.server.server_address[1]}/1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        found = []
        for envelope in self.envelopes:
            for header, payload in zip(envelope[1::2], envelope[2::2], strict=False):
                if header.get("type") == "event":
                    found.append(payload)
        return found

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


SENTRY_CLIENT = """
import json
import sentry_sdk
client = sentry_sdk.get_client()
print(json.dumps({
    "active": client.is_active(),
    "integrations": sorted(client.integrations),
    "configured": sorted(type(integration).__name__ for integration in client.options["integrations"]),
    "send_default_pii": client.options["send_default_pii"],
    "include_local_variables": client.options["include_local_variables"],
    "before_send": bool(client.options["before_send"]),
}))
"""


@pytest.mark.integration
def test_sentry_with_a_dsn_enables_django_celery_and_redis_without_personal_data(tmp_path):
    # A process of its own: settings initialise the SDK once, at import, as in gunicorn and the worker.
    ingest = SentryIngest()
    env = project_env(tmp_path, SENTRY_DSN=ingest.dsn)
    env.pop("SENTRY_SEND_DEFAULT_PII", None)
    try:
        client = json.loads(manage(env, "shell", "-c", SENTRY_CLIENT).strip().splitlines()[-1])
    finally:
        ingest.stop()
    assert client["active"] is True
    assert {"django", "celery", "redis"} <= set(client["integrations"])
    assert {"DjangoIntegration", "CeleryIntegration", "RedisIntegration"} <= set(client["configured"])
    assert client["send_default_pii"] is False
    assert client["include_local_variables"] is False
    assert client["before_send"] is True
    assert ingest.events() == []


@pytest.mark.integration
def test_sentry_event_id_is_the_error_id_and_carries_no_personal_data(tmp_path):
    ingest = SentryIngest()
    env = project_env(
        tmp_path,
        SENTRY_DSN=ingest.dsn,
        RELEASE="1.2.3-test",
        ENVIRONMENT="ci-test",
        DJANGO_ROOT_URLCONF="tests.urls_ops",
        WEB_CONCURRENCY="1",
    )
    manage(env, "migrate", "--noinput")  # the session cookie below is looked up
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        headers = {"Cookie": "sessionid=secret-session; csrftoken=secret-csrf", "X-Forwarded-For": "198.51.100.23"}
        url = server.url + "/api/v1/boom/?email=visitor@example.org"
        status, response_headers, body = http("GET", url, None, headers)
        error = json.loads(body)
        deadline = time.monotonic() + 15
        while not ingest.events() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
        ingest.stop()
    assert status == 500
    events = ingest.events()
    assert [event["event_id"] for event in events] == [error["error_id"]]
    event = events[0]
    assert event["release"] == "1.2.3-test"
    assert event["environment"] == "ci-test"
    assert event["tags"]["request_id"] == response_headers["X-Request-ID"] == error["request_id"]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    sent = json.dumps(event)
    for personal in ("secret-session", "secret-csrf", "198.51.100.23", "visitor@example.org", "ip_address"):
        assert personal not in sent, personal
    log = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines() if line.startswith("{")]
    logged = [line for line in log if line.get("error_id") == error["error_id"]]
    assert len(logged) == 1
    assert "RuntimeError: an unexpected failure" in logged[0]["traceback"]


def test_error_outside_django_gets_the_same_envelope_and_logged_id(wsgi, json_log, monkeypatch):
    from biomuseum.pagecache import PageCacheApp

    def broken(self, environ, start_response):
        raise RuntimeError("the page cache broke")

    monkeypatch.setattr(PageCacheApp, "__call__", broken)
    response = wsgi("GET", "/api/v1/organisms/")
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "server_error"
    assert body["request_id"] == response["X-Request-ID"]
    logged = [line for line in json_log() if line.get("error_id") == body["error_id"]]
    assert "RuntimeError: the page cache broke" in logged[0]["traceback"]
    assert [line for line in json_log() if line["logger"] == "biomuseum.access"][-1]["status"] == 500
