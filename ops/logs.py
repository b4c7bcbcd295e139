"""Log formats: JSON lines for machines (production), readable lines for people (development).

Every line carries the id of the request or Celery task it was written for (a context variable
set by ops.wsgi / ops.middleware / ops.tasksignals), so a request can be followed through the
access log, the application's own lines, errors and the jobs it enqueued. Importable before
Django is set up (gunicorn.conf.py uses these formatters for gunicorn's own lines).
"""

import logging
import os
import threading
import time

import orjson

from .requestids import current_request_id, current_task

# What every LogRecord has; anything else on a record was passed as `extra=` and is worth keeping.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_NOT_LOGGED = frozenset({"request", "server_time"})  # Django puts objects there, not data
_SKIPPED = _RECORD_ATTRIBUTES | _NOT_LOGGED | {"request_id"}


def _extras(record: logging.LogRecord) -> dict:
    if type(record) is AccessRecord:
        return record.fields
    return {key: value for key, value in record.__dict__.items() if key not in _SKIPPED and key[0] != "_"}


_second = [-1, ""]  # the last second formatted, and its text: most lines share it with the previous one


def _timestamp(created: float) -> str:
    seconds = int(created)
    if seconds != _second[0]:
        _second[:] = [seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))]
    return f"{_second[1]}.{int((created - seconds) * 1000):03d}Z"


class AccessRecord(logging.LogRecord):
    """The access line's record (one per request), made without LogRecord's per-call lookups.

    Its fields travel in `fields`, which the formatters below print like any record's extras.
    """

    _template: dict = {}
    _template_pid = 0

    def __init__(self, name: str, msg: str, args: tuple, fields: dict):
        if AccessRecord._template_pid != os.getpid():
            AccessRecord._template = vars(logging.LogRecord(name, logging.INFO, __file__, 0, "", (), None))
            AccessRecord._template_pid = os.getpid()
        self.__dict__.update(AccessRecord._template)
        now = time.time()
        self.name, self.msg, self.args, self.fields = name, msg, args, fields
        self.created, self.msecs = now, (now - int(now)) * 1000
        self.relativeCreated = (now - logging._startTime) * 1000
        thread = threading.current_thread()
        self.thread, self.threadName = thread.ident, thread.name


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, pid, then the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": record.__dict__.get("request_id") or current_request_id.get(),
            "pid": record.process,
        }
        task = current_task.get()
        if task is not None:
            entry["task"], entry["task_id"] = task
        entry.update(_extras(record))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class ConsoleFormatter(logging.Formatter):
    """`12:00:00.123 INFO    logger [request id] message key=value ...` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = record.__dict__.get("request_id") or current_request_id.get() or "-"
        line = (
            f"{time.strftime('%H:%M:%S', time.localtime(record.created))}.{int(record.msecs):03d} "
            f"{record.levelname:<7} {record.name} [{request_id}] {record.getMessage()}"
        )
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            line += "\n" + record.exc_text
        return line
