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
from collections import deque

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

    _template: dict = {}  # a real record's attributes (its pid among them); made again in a forked worker

    def __init__(self, name: str, msg: str, args: tuple, fields: dict):
        if not AccessRecord._template:
            AccessRecord._template = vars(logging.LogRecord(name, logging.INFO, __file__, 0, "", (), None))
        self.__dict__.update(AccessRecord._template)
        now = time.time()
        self.name, self.msg, self.args, self.fields = name, msg, args, fields
        self.created, self.msecs = now, (now - int(now)) * 1000
        self.relativeCreated = (now - logging._startTime) * 1000
        thread = threading.current_thread()
        self.thread, self.threadName = thread.ident, thread.name


def write_access_line(logger: logging.Logger, msg: str, args: tuple, fields: dict) -> None:
    """The access line (one per request). Where all that would happen to it is JsonFormatter's line queued
    on the stdout handler (production), it is made here directly, a third of the cost of the way through
    logging; anywhere else (console format, a test's capture handler, filters) it goes through logging."""
    handler = _direct_json_handler(logger)
    if handler is None:
        logger.handle(AccessRecord(logger.name, msg, args, fields))
        return
    entry = {
        "time": _timestamp(time.time()),
        "level": "INFO",
        "logger": logger.name,
        "message": msg % args,
        "request_id": current_request_id.get(),
        "pid": _pid,
    }
    task = current_task.get()
    if task is not None:
        entry["task"], entry["task_id"] = task
    entry.update(fields)
    handler.enqueue(orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode())


def _direct_json_handler(logger: logging.Logger) -> "BatchingStreamHandler | None":
    """The one handler an INFO line from `logger` reaches, when it is ours, formats JSON and filters nothing."""
    node = logger
    while node is not logging.root:
        if node.handlers or node.filters or node.disabled or not node.propagate or node.parent is None:
            return None
        node = node.parent
    handlers = node.handlers
    if len(handlers) != 1 or node.filters or node.disabled or not logger.isEnabledFor(logging.INFO):
        return None
    handler = handlers[0]
    if type(handler) is not BatchingStreamHandler or handler.filters or handler.level > logging.INFO:
        return None
    return handler if type(handler.formatter) is JsonFormatter else None


_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()
    AccessRecord._template = {}


os.register_at_fork(after_in_child=_forked)


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


class BatchingStreamHandler(logging.StreamHandler):
    """A StreamHandler that writes lines below WARNING in batches, at most `interval` seconds late.

    gunicorn.conf.py sets LOG_BATCH_SECONDS (0.05) for the web server; elsewhere (Celery workers, commands,
    tests) the interval is 0 and every line is written at once.

    Every request writes an access line. Written one by one, from many threads, each line is a system call
    made while holding the handler's lock, and the threads queue for the lock and the GIL in turn. Here a
    request formats its line and appends it to a deque (atomic, no lock); a background thread writes the
    lines out together. Warnings and errors are written at once, after everything queued before them;
    logging's own exit handler flushes the rest.
    """

    MAX_QUEUED = 512

    def __init__(self, stream=None, interval: float = 0.0):
        super().__init__(stream)
        self.interval = interval
        self._queued: deque[str] = deque()
        self._write_lock = threading.Lock()
        self._flusher_started = False
        os.register_at_fork(after_in_child=self._forked)

    def handle(self, record: logging.LogRecord) -> bool:
        """Handler.handle without the handler's lock: emit only queues, and the queue needs no lock."""
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.enqueue(line, record.levelno)

    def enqueue(self, line: str, level: int = logging.INFO) -> None:
        """A formatted line, written with the next batch (at once for a warning or worse)."""
        self._queued.append(line + self.terminator)
        if level >= logging.WARNING or self.interval <= 0 or len(self._queued) >= self.MAX_QUEUED:
            self.flush()
        elif not self._flusher_started:
            self._start_flusher()

    def flush(self) -> None:
        with self._write_lock:  # one writer at a time: lines leave in the order they were queued
            lines = []
            while True:
                try:
                    lines.append(self._queued.popleft())
                except IndexError:
                    break
            if self.stream is None:
                return
            if lines:
                self.stream.write("".join(lines))
            if hasattr(self.stream, "flush"):
                self.stream.flush()

    def _start_flusher(self) -> None:
        with self._write_lock:
            if self._flusher_started:
                return
            self._flusher_started = True
        threading.Thread(target=self._flush_forever, name="log-flusher", daemon=True).start()

    def _forked(self) -> None:
        self._flusher_started = False  # threads do not survive a fork: a worker starts its own
        self._write_lock = threading.Lock()
        self._queued.clear()  # the parent's lines: the parent writes them

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # a closed stream at exit; nothing left to write to
                return


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
