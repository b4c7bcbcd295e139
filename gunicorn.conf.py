"""gunicorn settings, each overridable by environment. Sized for a 2-core machine by default.

Also the ops side of the server (README: "Operating BioMuseum"): metrics shared by all workers,
gunicorn's own log lines in LOG_FORMAT, and a graceful SIGTERM that turns readiness to 503 first.
"""

import multiprocessing
import os
import shutil
import tempfile
import threading
import time
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
# A worker is replaced after this many requests, a guard against slow leaks (none is measured: bench/). High,
# because a worker serves thousands of cache hits a second, and each restart moves its keep-alive clients
# onto the other workers.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "100000"))
# Heartbeat files on a memory filesystem: a slow disk must not make the arbiter kill healthy workers.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "biomuseum"
# gunicornc's control socket only where asked for: its default path is one per user, which every
# instance on the machine (two test servers, a benchmark's reference) would fight over.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or "/nonexistent/gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")

# --- Ops ---
# Metrics from every worker: prometheus_client's multiprocess mode writes samples to files in this
# directory (on the memory filesystem), and whichever worker answers /ops/metrics adds them up.
# Must be in the environment before the application (and prometheus_client) is imported.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="biomuseum-metrics-", dir=worker_tmp_dir)
    os.environ["OPS_OWN_METRICS_DIR"] = "1"
# Log lines below WARNING (the access line of every request) leave in batches, at most this late: one write
# per request from many threads cost more than the rest of a cache hit (ops.logs.BatchingStreamHandler).
os.environ.setdefault("LOG_BATCH_SECONDS", "0.05")
# Created on SIGTERM; /ops/ready/ answers 503 "draining" while it exists.
os.environ.setdefault(
    "OPS_DRAIN_FILE", str(Path(worker_tmp_dir or tempfile.gettempdir()) / f"biomuseum-draining-{os.getpid()}")
)
# After SIGTERM, keep serving this long (readiness already 503) so a load balancer can take the instance
# out before the listener closes; then stop gracefully. 0: stop at once (no load balancer in front).
drain_seconds = float(os.environ.get("GUNICORN_DRAIN_SECONDS", "0"))

_debug = os.environ.get("DJANGO_DEBUG", "").lower() in ("1", "true", "yes", "on")
_log_format = os.environ.get("LOG_FORMAT") or ("console" if _debug else "json")
_handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": _log_format}
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ops.logs.JsonFormatter"}, "console": {"()": "ops.logs.ConsoleFormatter"}},
    "handlers": {"stdout": _handler},
    "root": {"level": loglevel.upper(), "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stdout"], "propagate": False},
        # ops.wsgi writes the access line (with request id and route); gunicorn's only with GUNICORN_ACCESSLOG.
        "gunicorn.access": {"level": "INFO" if accesslog else "WARNING", "handlers": ["stdout"], "propagate": False},
    },
}


def on_starting(server):
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):  # a previous run's counts must not be added to this one's
        stale.unlink()
    Path(os.environ["OPS_DRAIN_FILE"]).unlink(missing_ok=True)


def when_ready(server):
    """SIGTERM: mark the drain (readiness 503) at once, serve `drain_seconds` more, then stop gracefully.

    gunicorn's own SIGTERM handling closes the listeners and tells workers to finish what they are
    doing, waiting up to graceful_timeout. A second SIGTERM skips the rest of the drain.
    """
    stop = server.handle_term
    check_workers = server.murder_workers
    drain = {"until": None}

    def handle_term():
        if drain["until"] is None:
            Path(os.environ["OPS_DRAIN_FILE"]).touch()
            if drain_seconds > 0:
                server.log.info("SIGTERM: readiness answers 503; serving %ss more, then stopping", drain_seconds)
                drain["until"] = time.monotonic() + drain_seconds
                timer = threading.Timer(drain_seconds, server.wakeup)
                timer.daemon = True
                timer.start()
                return
        server.log.info("SIGTERM: readiness answers 503; finishing requests in flight, then exiting")
        stop()

    def murder_workers():
        check_workers()
        if drain["until"] is not None and time.monotonic() >= drain["until"]:
            server.log.info("drain over: finishing requests in flight, then exiting")
            stop()

    server.handle_term = handle_term
    server.murder_workers = murder_workers


def post_fork(server, worker):
    os.environ["OPS_WORKER_ID"] = str(worker.age)  # which worker answered, in /ops/pools/


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # its live gauges (pool sizes) stop counting


def on_exit(server):
    Path(os.environ["OPS_DRAIN_FILE"]).unlink(missing_ok=True)
    if os.environ.get("OPS_OWN_METRICS_DIR") == "1":
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
