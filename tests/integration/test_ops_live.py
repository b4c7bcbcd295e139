"""The ops side on real processes: gunicorn with two workers, a Celery worker, a throwaway Redis (broker and
cache) and the database DATABASE_URL names (PostgreSQL in CI's second pass, SQLite otherwise).

A request's X-Request-ID follows the job it enqueues into the worker's log lines, and /ops/pools/ reports
what is really running: the worker answering the ping, queue depths, the gunicorn worker, Redis and the
database pool."""

import json
import os
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest

from tests import imagefiles
from tests.conftest import ThrowawayRedis, reachable, require_service

from .processes import CeleryWorker, Gunicorn, http, manage, project_env, wait_until

pytestmark = pytest.mark.integration

OPS_TOKEN = "a-long-random-ops-token-for-tests"
SLUG = "panthera-uncia"
SETUP = f"""
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from organisms.models import Organism

Organism.objects.create(slug="{SLUG}", common_name="Snow leopard", scientific_name="Panthera uncia", kingdom="Animalia")
curator = User.objects.create_user("curator", is_staff=True)
curator.user_permissions.add(*Permission.objects.filter(codename__in=["add_organismimage", "view_organismimage"]))
print(Token.objects.create(user=curator).key)
"""


def postgres_server() -> str | None:
    """The PostgreSQL server DATABASE_URL names, or None when the suite runs on SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    address = f"{urlparse(url).hostname or '127.0.0.1'}:{urlparse(url).port or 5432}"
    if not reachable(f"tcp://{address}"):
        require_service("PostgreSQL", f"nothing answers at {address}")
    return url


class LiveStack:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.redis = ThrowawayRedis()
        self.postgres = postgres_server()
        self.database_name = f"biomuseum_ops_live_{secrets.token_hex(4)}" if self.postgres else None
        extra = {"DATABASE_URL": self._database_url()} if self.postgres else {}
        self.env = project_env(
            tmp_path,
            REDIS_URL=self.redis.url.removesuffix("/0") + "/1",
            CELERY_BROKER_URL=self.redis.url,
            OPS_TOKEN=OPS_TOKEN,
            OPS_CELERY_PING_TIMEOUT="1.0",  # a loaded two-core machine may take longer than 0.5s to answer
            **extra,
        )
        # Two workers (as with Redis by default) taking one connection at a time: two requests at once are
        # answered by both.
        self.web = Gunicorn(
            self.env,
            tmp_path / "gunicorn.log",
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="1",
            GUNICORN_WORKER_CONNECTIONS="1",
            GUNICORN_KEEPALIVE="0",
        )
        for env in (self.env, self.web.env):  # the upload's Location leads to the gunicorn under test
            env["PUBLIC_BASE_URL"] = self.web.url
        self.worker = CeleryWorker(self.env, tmp_path / "worker.log")

    def _database_url(self) -> str:
        parsed = urlparse(self.postgres)
        return parsed._replace(path=f"/{self.database_name}").geturl()

    def _admin(self):
        import psycopg

        return psycopg.connect(urlparse(self.postgres)._replace(path="/postgres").geturl(), autocommit=True)

    def start(self) -> "LiveStack":
        if self.postgres:
            with self._admin() as admin:
                admin.execute(f"CREATE DATABASE {self.database_name}")
        manage(self.env, "migrate", "--noinput")
        self.token = manage(self.env, "shell", "-c", SETUP).strip().splitlines()[-1]
        self.redis.start()
        with ThreadPoolExecutor() as pool:
            for future in [pool.submit(self.web.start), pool.submit(self.worker.start)]:
                future.result()
        return self

    def stop(self) -> None:
        with ThreadPoolExecutor() as pool:
            for future in [pool.submit(self.web.stop), pool.submit(self.worker.stop)]:
                future.result()
        self.redis.stop()
        if self.postgres:
            with self._admin() as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {self.database_name} WITH (FORCE)")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        url = path if path.startswith("http") else self.web.url + path
        status, response_headers, content = http(method, url, body, headers, timeout=30)
        if response_headers.get("Content-Type", "").startswith("application/json"):
            content = json.loads(content)
        return status, response_headers, content


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    stack = LiveStack(tmp_path_factory.mktemp("ops-live"))
    try:
        yield stack.start()
    finally:
        stack.stop()


def json_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def image_upload(content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="alt_text"\r\n\r\nA snow leopard\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="leopard.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return body + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_ops_live_request_id_of_an_upload_is_on_the_workers_log_lines_for_its_job(live):
    request_id = "ops-live-upload-0001"
    body, content_type = image_upload(imagefiles.jpeg(640, 480))
    auth = {"Authorization": f"Token {live.token}"}
    upload_headers = {**auth, "Content-Type": content_type, "X-Request-ID": request_id}
    status, headers, image = live.request("POST", f"/api/v1/organisms/{SLUG}/images/", body, upload_headers)
    assert status == 202, image
    assert headers["X-Request-ID"] == request_id

    def settled():
        status, _, current = live.request("GET", headers["Location"], headers=auth)
        assert status == 200, current
        return current if current["status"] in ("ready", "failed") else None

    assert wait_until(settled, timeout=90, what="the image job")["status"] == "ready"

    def finished_job_lines() -> list[dict] | None:
        lines = [line for line in json_lines(live.worker.log_path) if line.get("task") == "organisms.process_image"]
        return lines if any(line["message"].startswith("image job ready") for line in lines) else None

    job_lines = wait_until(finished_job_lines, timeout=10, what="the worker's line for the finished job")
    assert any(line["message"].startswith("image job ready") for line in job_lines), job_lines
    assert {line["request_id"] for line in job_lines} == {request_id}
    access = [line for line in json_lines(live.web.log_path) if line.get("logger") == "biomuseum.access"]
    assert [line["request_id"] for line in access if line["method"] == "POST"] == [request_id]


def test_ops_live_pools_reports_the_worker_queues_gunicorn_redis_and_database(live):
    auth = {"Authorization": f"Bearer {OPS_TOKEN}"}

    def answered():
        status, _, body = live.request("GET", "/ops/pools/", headers=auth)
        assert status == 200, body
        return body if body["celery"]["workers"] != 0 else None  # the worker joins the ping channel at start

    wait_until(answered, timeout=30, what="the Celery worker to answer the ping")
    with ThreadPoolExecutor(2) as pool:  # each takes the ping's second: at once, one per gunicorn worker
        snapshots = [
            response[2] for response in pool.map(lambda _: live.request("GET", "/ops/pools/", headers=auth), "ab")
        ]

    for body in snapshots:
        celery = body["celery"]
        assert celery["broker"] == "redis"
        assert isinstance(celery["workers"], int) and celery["workers"] >= 1, celery
        assert {"images", "email", "default"} <= set(celery["queues"]), celery
        assert all(isinstance(depth, int) and depth >= 0 for depth in celery["queues"].values()), celery
        assert int(body["worker"]["gunicorn_worker"]) >= 1
        redis = body["redis"]
        assert redis["configured"] is True
        assert {"max", "created", "in_use", "available"} <= set(redis)
        assert redis["max"] >= 1
        assert redis["in_use"] + redis["available"] == redis["created"]
        database = body["database"]
        if live.postgres:
            assert (database["vendor"], database["pooled"]) == ("postgresql", True), database
            for field in ("min", "max", "size", "available", "waiting", "requests", "errors"):
                assert isinstance(database[field], int), (field, database)
            assert database["max"] >= database["size"] >= database["available"]
        else:
            assert (database["vendor"], database["pooled"]) == ("sqlite", False)
    worker_ids = {body["worker"]["pid"]: body["worker"]["gunicorn_worker"] for body in snapshots}
    assert len(worker_ids) == 2, "one gunicorn worker answered both requests"
    assert len(set(worker_ids.values())) == 2  # one id per worker
