"""Whether this process is shutting down, so readiness answers 503 while requests in flight finish.

gunicorn's master marks the drain (gunicorn.conf.py creates the file named by OPS_DRAIN_FILE on
SIGTERM); workers see it with one stat() per readiness request. `start_draining()` marks it for
this process alone (a process without gunicorn, or a test).
"""

import os

_draining = False


def start_draining() -> None:
    global _draining
    _draining = True


def stop_draining() -> None:
    global _draining
    _draining = False


def is_draining() -> bool:
    if _draining:
        return True
    flag = os.environ.get("OPS_DRAIN_FILE")
    return bool(flag) and os.path.exists(flag)
