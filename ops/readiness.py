"""Readiness: may a load balancer send this process traffic?

Policy (the README's "Operating BioMuseum" says the same):
- 503 "draining" once the process is shutting down (SIGTERM), before any check runs;
- 503 "unavailable" when the database does not answer: no page can be rendered or written;
- 200 "degraded" when only the cache or the broker fails: pages render uncached and public reads
  fail open; jobs wait in the database for the sweeper (see DESIGN.md), so keep the instance in;
- 200 "ok" otherwise. A broker that is not configured (tasks run in-process) is not a failure.

The three checks run at once, each stopping at OPS_CHECK_TIMEOUT, so the answer comes well within
a second even when a dependency hangs or drops packets.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connections

from . import broker, deadlines
from .draining import is_draining

logger = logging.getLogger("ops.readiness")


def check_database() -> dict:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # this thread's connection (back to the pool on PostgreSQL)
    return {"status": "ok"}


def check_cache() -> dict:
    cache = caches["default"]
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client"):  # django-redis
        client.get_client(write=True).ping()
        return {"status": "ok", "backend": "redis"}
    cache.get("ops:ready")  # in-process: nothing that can be down, but exercise it anyway
    return {"status": "ok", "backend": type(cache).__name__}


def check_broker() -> dict:
    return broker.check(settings.OPS_CHECK_TIMEOUT)


CHECKS: dict[str, Callable[[], dict]] = {"database": check_database, "cache": check_cache, "broker": check_broker}


def _timed(check: Callable[[], dict]) -> Callable[[], dict]:
    def run() -> dict:
        started = time.perf_counter()
        result = check()
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        return result

    return run


def _prepare() -> None:
    """Build the cache client here, first: its lazy imports must not run in two check threads at once."""
    client = getattr(caches["default"], "client", None)
    if client is not None and hasattr(client, "get_client"):
        client.get_client(write=True)  # imports the client's classes; connects only when used


def run_checks(timeout: float) -> dict[str, dict]:
    """Every check at once; each answers, fails or times out by the same deadline."""
    _prepare()
    deadline = time.monotonic() + timeout
    running = {name: deadlines.start(f"ready.{name}", _timed(check)) for name, check in CHECKS.items()}
    results = {}
    for name, future in running.items():
        try:
            results[name] = deadlines.wait(future, deadline)
        except deadlines.DeadlineExceeded:
            logger.warning("readiness: %s did not answer within %ss", name, timeout)
            results[name] = {"status": "timeout", "timeout_s": timeout}
        except Exception as exc:
            logger.warning("readiness: %s failed: %s", name, exc)
            results[name] = {"status": "error", "error": type(exc).__name__}
    return results


def readiness() -> tuple[int, dict]:
    """(HTTP status, body) per the policy above."""
    if is_draining():
        return 503, {"status": "draining", "version": settings.RELEASE}
    checks = run_checks(settings.OPS_CHECK_TIMEOUT)
    healthy = ("ok", "not_configured")
    if checks["database"]["status"] != "ok":
        status, code = "unavailable", 503
    elif all(checks[name]["status"] in healthy for name in ("cache", "broker")):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return code, {"status": status, "version": settings.RELEASE, "checks": checks}
