"""Celery signal receivers (connected in OpsConfig.ready()): request ids into tasks, outcome counts, logs.

- before_task_publish: the enqueuing request's id travels as a `request_id` message header.
- task_prerun / task_postrun: the worker restores it (and the task's name and id) for the task's log lines.
- task_success / failure / retry / revoked: counted (ops.broker explains where).
- setup_logging: the worker keeps Django's LOGGING (JSON lines) instead of installing Celery's own format.
"""

import logging.config
import threading

from django.conf import settings

from . import broker, metrics
from .requestids import SANE_REQUEST_ID, current_request_id, current_task

HEADER = "request_id"

_tokens: dict[str, tuple] = {}
_tokens_lock = threading.Lock()


def add_request_id(headers: dict | None = None, **kwargs) -> None:
    request_id = current_request_id.get()
    if request_id and headers is not None:
        headers.setdefault(HEADER, request_id)


def restore_request_id(task_id: str | None = None, task=None, **kwargs) -> None:
    if task is None or task_id is None:
        return
    request_id = getattr(task.request, HEADER, None)
    if isinstance(request_id, str) and SANE_REQUEST_ID.match(request_id):
        tokens = (current_request_id.set(request_id), current_task.set((task.name, task_id)))
    elif task.request.is_eager:
        return  # run in-process, inside the request that enqueued it: its id is already set
    else:
        tokens = (current_request_id.set(None), current_task.set((task.name, task_id)))
    with _tokens_lock:
        _tokens[task_id] = tokens


def clear_request_id(task_id: str | None = None, **kwargs) -> None:
    with _tokens_lock:
        tokens = _tokens.pop(task_id, None)
    if tokens is not None:
        request_token, task_token = tokens
        current_task.reset(task_token)
        current_request_id.reset(request_token)


def _count(task, outcome: str) -> None:
    name = getattr(task, "name", None) or str(task)
    eager = bool(getattr(getattr(task, "request", None), "is_eager", False))
    if not eager and broker.is_redis(broker.broker_url()):
        broker.count_outcome(name, outcome)
    else:
        metrics.CELERY_TASKS.labels(name, outcome).inc()


def on_success(sender=None, **kwargs) -> None:
    _count(sender, "success")


def on_failure(sender=None, **kwargs) -> None:
    _count(sender, "failure")


def on_retry(sender=None, **kwargs) -> None:
    _count(sender, "retry")


def on_revoked(sender=None, request=None, **kwargs) -> None:
    _count(sender, "revoked")


def keep_django_logging(**kwargs) -> None:
    logging.config.dictConfig(settings.LOGGING)


def connect() -> None:
    from celery import signals

    signals.before_task_publish.connect(add_request_id, dispatch_uid="ops.request_id.publish")
    signals.task_prerun.connect(restore_request_id, dispatch_uid="ops.request_id.prerun")
    signals.task_postrun.connect(clear_request_id, dispatch_uid="ops.request_id.postrun")
    signals.task_success.connect(on_success, dispatch_uid="ops.outcome.success")
    signals.task_failure.connect(on_failure, dispatch_uid="ops.outcome.failure")
    signals.task_retry.connect(on_retry, dispatch_uid="ops.outcome.retry")
    signals.task_revoked.connect(on_revoked, dispatch_uid="ops.outcome.revoked")
    signals.setup_logging.connect(keep_django_logging, dispatch_uid="ops.logging")
