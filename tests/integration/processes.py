"""Real processes for integration tests: the project's own manage.py and gunicorn, on loopback."""

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
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
