"""Real processes for integration tests, on loopback: the project's own manage.py, gunicorn and Celery
worker, and the servers they talk to (a throwaway Redis, an SMTP server)."""

import asyncio
import contextlib
import email
import email.message
import email.policy
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def project_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A production-like environment of its own: DEBUG off, its own SQLite file and media."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    env.pop("CELERY_BROKER_URL", None)
    env.update(
        DJANGO_ENV_FILE="/nonexistent/.env",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        DWCA_EXPORT_DIR=str(tmp_path / "exports"),
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        CELERY_BROKER_FOLDER=str(tmp_path / "broker"),
        STATIC_ROOT=str(tmp_path / "static"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Gunicorn:
    """gunicorn with the project's gunicorn.conf.py on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path, app: str = "biomuseum.wsgi", **extra_env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {**env, "PORT": str(self.port), "HOST": "127.0.0.1", **extra_env}
        self.app = app
        self.process: subprocess.Popen | None = None

    def start(self, ready_path: str = "/ops/health/", timeout: float = 30) -> "Gunicorn":
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), self.app, "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in {timeout}s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process is not None:
            self.log.close()
        self.process = None


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 10):
    """(status, headers, body) for one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something truthy (returned), failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting for {what}")
        time.sleep(interval)


class CeleryWorker:
    """The project's Celery worker, as the Procfile starts it (one process at a time), on the test's broker.

    It runs in a session of its own, so `kill()` takes its pool children down with it.
    """

    def __init__(self, env: dict[str, str], log_path: Path, *, name: str = "worker", pool: str = "prefork"):
        self.env = env
        self.log_path = log_path
        self.name = name
        self.pool = pool
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "CeleryWorker":
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop() and kill()
        start_offset = self.log_path.stat().st_size
        command = [str(VENV_BIN / "celery"), "-A", "biomuseum", "worker", "--queues", "images,email,default"]
        command += ["--concurrency", "1", "--prefetch-multiplier", "1", "--loglevel", "INFO", "--pool", self.pool]
        # Mingle and gossip only talk to other workers: there are none, and mingle waits a second for them.
        command += ["--hostname", f"{self.name}@%h", "--without-mingle", "--without-gossip"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while f"{self.name}@" not in (output := self.output(start_offset)) or " ready." not in output:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited: {self.output(start_offset)[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"celery worker not ready in {timeout}s: {self.output(start_offset)[-2000:]}")
            time.sleep(0.1)
        return self

    def output(self, offset: int = 0) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost host would: no shutdown, no acknowledgement."""
        self._signal_group(signal.SIGKILL)
        self._finish()

    def stop(self) -> None:
        if self.alive:
            self.process.terminate()  # warm shutdown: the task at hand finishes
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        self._signal_group(signal.SIGKILL)  # whatever is left of it (pool children of a killed parent)
        self._finish()

    def _signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)  # the session's group id is the worker's own pid

    def _finish(self) -> None:
        if self.process is not None:
            self.process.wait(timeout=30)
            self.log.close()
        self.process = None


class SmtpRecorder:
    """A real SMTP server on loopback (aiosmtpd, in this process) that keeps every message it accepts.

    `delay` makes each message take that long to accept, as a busy mail server would.
    """

    def __init__(self, delay: float = 0.0):
        self.port = free_port()
        self.delay = delay
        self.received: list[tuple[tuple[str, ...], email.message.EmailMessage]] = []
        self._lock = threading.Lock()
        self.controller = None

    def start(self) -> "SmtpRecorder":
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            from tests.conftest import require_service

            require_service("aiosmtpd", "the package is not installed (requirements-dev.txt)")
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append((tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def messages_to(self, address: str) -> list[email.message.EmailMessage]:
        with self._lock:
            return [message for recipients, message in self.received if address in recipients]

    def recipients(self) -> list[str]:
        with self._lock:
            return [address for recipients, _ in self.received for address in recipients]


def prepared_database(directory: Path, setup: str) -> tuple[Path, str]:
    """A migrated SQLite file with `setup` (code for `manage.py shell`) run on it, and setup's last line of output.

    Tests copy the file instead of migrating their own: one migration per module, not per test.
    """
    directory.mkdir(parents=True, exist_ok=True)
    migrate = "from django.core.management import call_command\ncall_command('migrate', verbosity=0)\n"
    output = manage(project_env(directory), "shell", "-c", migrate + setup)
    return directory / "db.sqlite3", output.strip().splitlines()[-1]


VISIBILITY_TIMEOUT = 5  # seconds before the broker hands a dead worker's task out again


class JobStack:
    """What background jobs run on, all real and on loopback: a throwaway Redis as the Celery broker,
    Celery workers, the API under gunicorn, an SMTP server, and a SQLite file and media folder of their own.

    Timings are the test-friendly ones: a dead worker's task comes back after 5s, the sweeper takes
    pending images at once, and a job "processing" for 5s counts as stuck.
    """

    def __init__(self, tmp_path: Path, database: Path, *, smtp_delay: float = 0.0):
        from tests.conftest import ThrowawayRedis

        shutil.copyfile(database, tmp_path / "db.sqlite3")
        self.tmp_path = tmp_path
        self.media = tmp_path / "media"
        self.broker = ThrowawayRedis()
        self.smtp = SmtpRecorder(delay=smtp_delay)
        self.env = project_env(
            tmp_path,
            CELERY_BROKER_URL=self.broker.url,
            EMAIL_URL=f"smtp://127.0.0.1:{self.smtp.port}",
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            IMAGE_PENDING_GRACE="0",
            IMAGE_STUCK_AFTER="5",
        )
        self.web = Gunicorn(self.env, tmp_path / "gunicorn.log")
        for env in (self.env, self.web.env):  # links in emails lead to the gunicorn under test
            env["PUBLIC_BASE_URL"] = self.web.url
        self.workers: list[CeleryWorker] = []

    def start(self, *, pool: str = "prefork") -> "JobStack":
        self.broker.start()
        self.smtp.start()
        with ThreadPoolExecutor() as pool_of_threads:  # each takes seconds to import Django and answer: together
            started = [pool_of_threads.submit(self.web.start), pool_of_threads.submit(self.start_worker, pool=pool)]
        for future in started:
            future.result()
        return self

    def start_worker(self, *, pool: str = "prefork") -> CeleryWorker:
        number = len(self.workers) + 1
        worker = CeleryWorker(self.env, self.tmp_path / f"worker-{number}.log", name=f"worker{number}", pool=pool)
        self.workers.append(worker)
        return worker.start()

    @property
    def worker(self) -> CeleryWorker:
        return self.workers[-1]

    def stop(self) -> None:
        with ThreadPoolExecutor() as pool:  # each takes a second or two to shut down gracefully: together
            stopped = [pool.submit(process.stop) for process in (*self.workers, self.web)]
        for future in stopped:
            future.result()
        self.smtp.stop()
        self.broker.stop()

    def shell(self, code: str) -> str:
        """The last line `code` prints, run by `manage.py shell` in the stack's environment."""
        return manage(self.env, "shell", "-c", code).strip().splitlines()[-1]

    def api(self, method: str, path: str, *, token: str = "", data=None, body: bytes | None = None, **headers):
        """(status, headers, parsed JSON or raw bytes) of a request to the gunicorn under test."""
        if token:
            headers["Authorization"] = f"Token {token}"
        if data is not None:
            body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
        url = path if path.startswith("http") else self.web.url + path
        status, response_headers, content = http(method, url, body, headers, timeout=30)
        if response_headers.get("Content-Type", "").startswith("application/json"):
            content = json.loads(content)
        return status, response_headers, content


class TcpProxy:
    """A loopback TCP proxy in front of a service, to cut it the way networks fail.

    `blackhole()`: connections stay open (new ones are even accepted) but no byte goes through,
    like a host that drops packets. `close()`: everything is closed, new connections are refused.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        import socket
        import threading

        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarding = threading.Event()
        self.forwarding.set()
        self.closed = threading.Event()
        self.refusing = threading.Event()
        self.sockets: list = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, scheme: str, path: str = "", user: str = "") -> str:
        return f"{scheme}://{user + '@' if user else ''}127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        import socket
        import threading

        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing.is_set():
                client.close()
                continue
            if not self.forwarding.is_set():
                with self.lock:
                    self.sockets.append(client)  # held open, never answered
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink) -> None:
        source.settimeout(0.1)
        while not self.closed.is_set():
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            while not self.forwarding.is_set():  # blackholed: hold the bytes, send nothing
                if self.closed.wait(0.05):
                    return
            try:
                sink.sendall(data)
            except OSError:
                break
        source.close()
        sink.close()

    def blackhole(self) -> None:
        self.forwarding.clear()

    def cut(self) -> None:
        """Like a service that went away: open connections reset, new ones refused until `restore()`."""
        self.refusing.set()
        with self.lock:
            for sock in self.sockets:
                sock.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.refusing.clear()
        self.forwarding.set()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                sock.close()
