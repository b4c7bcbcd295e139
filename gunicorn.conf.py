"""gunicorn settings, each overridable by environment. Sized for a 2-core machine by default."""

import multiprocessing
import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
# gthread keeps connections alive and holds many idle clients without a buffering proxy in front.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# Without REDIS_URL the cache (and with it page-cache generations and rate counters) lives in each
# process, so the embedded set-up serves from one process; with Redis, one worker per core.
default_workers = max(2, multiprocessing.cpu_count()) if os.environ.get("REDIS_URL") else 1
workers = int(os.environ.get("WEB_CONCURRENCY", default_workers))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "2000"))
# Heartbeat files on a memory filesystem: a slow disk must not make the arbiter kill healthy workers.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "biomuseum"
