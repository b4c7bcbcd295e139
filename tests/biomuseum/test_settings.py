"""Settings are read once at start-up, so each case runs a fresh interpreter with its own environment."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAFE_ENV = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE", "REDIS"))}
SAFE_ENV.pop("CELERY_BROKER_URL", None)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**SAFE_ENV, "DJANGO_ENV_FILE": "/nonexistent/.env", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def settings_as_json(*names: str, **env: str) -> dict:
    code = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'biomuseum.settings'\n"
        "from django.conf import settings\n"
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = run_python(code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def production_env(**extra: str) -> dict:
    return {"DJANGO_SECRET_KEY": secrets.token_urlsafe(60), "DJANGO_ALLOWED_HOSTS": "example.org", **extra}


def test_settings_refuse_to_start_without_secret_key_when_not_debugging():
    result = run_python("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='biomuseum.settings'; django.setup()")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_settings_default_to_safe_embedded_values():
    found = settings_as_json("DEBUG", "DATABASES", "CACHES", "CELERY_TASK_ALWAYS_EAGER", **production_env())
    assert found["DEBUG"] is False
    assert found["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert found["DATABASES"]["default"]["NAME"].endswith("var/biomuseum.sqlite3")
    assert found["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")
    assert found["CELERY_TASK_ALWAYS_EAGER"] is True


def test_settings_use_postgres_pool_and_redis_from_environment():
    found = settings_as_json(
        "DATABASES",
        "CACHES",
        "CELERY_BROKER_URL",
        "CELERY_TASK_ALWAYS_EAGER",
        **production_env(DATABASE_URL="postgres://u:p@db.internal:5432/museum", REDIS_URL="redis://cache:6379/2"),
    )
    database = found["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["NAME"] == "museum"
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"]["max_size"] >= 2
    cache = found["CACHES"]["default"]
    assert cache["BACKEND"] == "django_redis.cache.RedisCache"
    assert cache["OPTIONS"]["IGNORE_EXCEPTIONS"] is True
    assert cache["OPTIONS"]["SOCKET_TIMEOUT"] <= 1
    assert found["CELERY_BROKER_URL"] == "redis://cache:6379/2"
    assert found["CELERY_TASK_ALWAYS_EAGER"] is False


def test_settings_read_hosts_cors_media_and_admin_url_from_environment():
    found = settings_as_json(
        "ALLOWED_HOSTS",
        "CORS_ALLOWED_ORIGINS",
        "MEDIA_ROOT",
        "ADMIN_URL",
        **production_env(
            CORS_ALLOWED_ORIGINS="https://www.example.org,https://m.example.org",
            MEDIA_ROOT="/srv/media",
            DJANGO_ADMIN_URL="/curators/",
        ),
    )
    assert found["ALLOWED_HOSTS"] == ["example.org"]
    assert found["CORS_ALLOWED_ORIGINS"] == ["https://www.example.org", "https://m.example.org"]
    assert found["MEDIA_ROOT"] == "/srv/media"
    assert found["ADMIN_URL"] == "curators/"


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **SAFE_ENV,
            "DJANGO_ENV_FILE": "/nonexistent/.env",
            **production_env(
                DJANGO_SECURE_SSL_REDIRECT="1",
                DJANGO_SECURE_HSTS_SECONDS="31536000",
                DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
                DJANGO_SECURE_HSTS_PRELOAD="1",
                DJANGO_SECURE_COOKIES="1",
            ),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_log_level_is_read_in_either_case():
    """gunicorn.conf.py takes LOG_LEVEL in lower case; one variable must serve both."""
    code = (
        "import logging, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'biomuseum.settings'\n"
        "import django; django.setup(); print(logging.getLevelName(logging.getLogger().level))"
    )
    result = run_python(code, DJANGO_DEBUG="1", LOG_LEVEL="warning")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "WARNING"
