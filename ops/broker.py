"""The Celery broker as operators see it: reachable or not, queue depths, workers, task outcomes.

Redis brokers (`redis://`, `rediss://`) are read directly with short timeouts. Other transports
get a connection check through kombu. With no broker configured, tasks run in-process and there
is nothing to check.

Task outcomes are counted where every worker on every host can add to them: a hash in the
broker's Redis, incremented by the worker that ran the task (ops.tasksignals) and read when
/ops/metrics is scraped. Tasks run in-process (eager) are counted in the process's own metrics.
"""

import logging
import threading

# Imported here, not in the check threads: two threads importing one module at once can deadlock.
import redis
from celery import current_app as celery_app  # the project's app (biomuseum/celery.py), set up by Django
from django.conf import settings
from kombu import Connection

from . import deadlines

logger = logging.getLogger("ops.broker")

NOT_CONFIGURED = "not configured (tasks run in-process)"
OUTCOMES_KEY = "ops:celery:task_outcomes"
# kombu's Redis transport keeps a queue's higher priorities in lists named queue + SEP + priority.
PRIORITY_SEP = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
# The queues DESIGN.md names; the Celery configuration may add more.
KNOWN_QUEUES = ("images", "email", "default")

_clients: dict[tuple[str, float], object] = {}
_clients_lock = threading.Lock()


def broker_url() -> str:
    return settings.CELERY_BROKER_URL or ""


def is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


def redis_client(url: str, timeout: float):
    """One client (and connection pool) per broker URL and timeout, per process."""
    key = (url, timeout)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(
                    url, socket_connect_timeout=timeout, socket_timeout=timeout, max_connections=8
                )
                _clients[key] = client
    return client


def check(timeout: float) -> dict:
    """Can we reach the broker? Raises if not."""
    url = broker_url()
    if not url:
        return {"status": "not_configured", "detail": NOT_CONFIGURED}
    if is_redis(url):
        redis_client(url, timeout).ping()
    else:
        with Connection(url, connect_timeout=timeout) as connection:
            connection.connect()
    return {"status": "ok"}


def queue_names() -> list[str]:
    conf = celery_app.conf
    names = {*KNOWN_QUEUES, conf.task_default_queue}
    names.update(queue.name for queue in conf.task_queues or ())
    routes = conf.task_routes
    if isinstance(routes, dict):
        names.update(route["queue"] for route in routes.values() if isinstance(route, dict) and route.get("queue"))
    return sorted(name for name in names if name)


def queue_depths(timeout: float) -> dict[str, int]:
    url = broker_url()
    names = queue_names()
    if is_redis(url):
        pipe = redis_client(url, timeout).pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
            for step in PRIORITY_STEPS:
                pipe.llen(f"{name}{PRIORITY_SEP}{step}")
        lengths = pipe.execute()
        per_queue = 1 + len(PRIORITY_STEPS)
        return {name: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}
    depths = {}
    with Connection(url, connect_timeout=timeout) as connection:
        channel = connection.default_channel
        for name in names:
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except Exception:  # not declared yet: nothing waiting
                depths[name] = 0
                channel = connection.channel()
    return depths


def workers_answering(timeout: float) -> int:
    """How many Celery workers answer a broadcast ping within `timeout`."""
    # kombu waits for replies with BRPOP, one second at a time unless told to poll faster.
    options = {"polling_interval": min(timeout, 0.1)} if is_redis(broker_url()) else {}
    with celery_app.connection_for_write(broker_url(), transport_options=options) as connection:
        replies = celery_app.control.ping(timeout=timeout, connection=connection)
    return len(replies or [])


def count_outcome(task: str, outcome: str) -> None:
    """Called in the worker that ran the task; a broker hiccup loses one count, never the task."""
    try:
        redis_client(broker_url(), settings.OPS_CHECK_TIMEOUT).hincrby(OUTCOMES_KEY, f"{task}\t{outcome}", 1)
    except Exception:
        logger.warning("could not count a task outcome in the broker", exc_info=True)


def task_outcomes(timeout: float) -> dict[tuple[str, str], int]:
    url = broker_url()
    if not is_redis(url):
        return {}
    counts = {}
    for field, value in redis_client(url, timeout).hgetall(OUTCOMES_KEY).items():
        task, _, outcome = field.decode().partition("\t")
        counts[(task, outcome)] = int(value)
    return counts


# --- bounded versions for the ops endpoints: None (or {}) when the broker does not answer in time ---


def queue_depths_bounded() -> dict[str, int] | None:
    if not broker_url():
        return None
    timeout = settings.OPS_CHECK_TIMEOUT
    try:
        return deadlines.call_within("broker.queues", lambda: queue_depths(timeout), timeout)
    except Exception as exc:
        logger.warning("queue depths unavailable: %s", type(exc).__name__)
        return None


def task_outcomes_bounded() -> dict[tuple[str, str], int]:
    if not is_redis(broker_url()):
        return {}
    timeout = settings.OPS_CHECK_TIMEOUT
    try:
        return deadlines.call_within("broker.outcomes", lambda: task_outcomes(timeout), timeout)
    except Exception as exc:
        logger.warning("task outcomes unavailable: %s", type(exc).__name__)
        return {}
