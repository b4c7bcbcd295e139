"""Calls to dependencies that must answer by a deadline, on a small bounded set of threads.

A check that hangs (a blackholed host, a stalled server) keeps its thread until the client's own
timeout frees it; meanwhile the caller stops waiting at the deadline and reports "timeout". Calls
are single-flight per name: while one check of a dependency is still running, the next caller
waits on that same call instead of starting another, so hung checks cannot pile up. The threads
are daemons: a hung check never holds up a worker's exit (ThreadPoolExecutor's threads would).
"""

import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

THREADS = 6  # database, cache, broker, queue depths, worker ping, task outcomes: one each at most

_lock = threading.Lock()
_inflight: dict[str, Future] = {}
_calls: queue.SimpleQueue | None = None
_pid = 0


class DeadlineExceeded(TimeoutError):
    pass


def _work(calls: queue.SimpleQueue) -> None:
    while True:
        future, call = calls.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(call())
        except BaseException as exc:  # handed to whoever waits on the future
            future.set_exception(exc)


def _queue() -> queue.SimpleQueue:
    global _calls, _pid
    if _calls is None or _pid != os.getpid():  # threads do not survive a fork: start this process's own
        _calls, _pid = queue.SimpleQueue(), os.getpid()
        _inflight.clear()
        for number in range(THREADS):
            threading.Thread(target=_work, args=(_calls,), name=f"ops-deadline-{number}", daemon=True).start()
    return _calls


def start(name: str, call: Callable[[], Any]) -> Future:
    """The running call for `name`, or a new one if none is running."""
    with _lock:
        future = _inflight.get(name)
        if future is None or future.done():
            future = Future()
            _queue().put((future, call))
            _inflight[name] = future
        return future


def wait(future: Future, deadline: float) -> Any:
    """The call's result, or DeadlineExceeded once `deadline` (time.monotonic()) has passed."""
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        raise DeadlineExceeded from None


def call_within(name: str, call: Callable[[], Any], timeout: float) -> Any:
    return wait(start(name, call), time.monotonic() + timeout)


def busy() -> int:
    """How many calls are running or queued now."""
    with _lock:
        return sum(1 for future in _inflight.values() if not future.done())
