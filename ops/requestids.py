"""Request ids: the client's when it is a sane token, a fresh one otherwise.

The id of the request (or Celery task) being handled lives in a context variable, so every log
line can carry it without passing it around.
"""

import random
import re
from contextvars import ContextVar

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
# Set in the WSGI environ by ops.wsgi.RequestContextApp: the outermost layer owns the X-Request-ID header.
ENVIRON_KEY = "ops.request_id"

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# (task name, task id) while a Celery task runs, for its log lines.
current_task: ContextVar[tuple[str, str] | None] = ContextVar("current_task", default=None)


def request_id_from(meta: dict) -> str:
    incoming = meta.get("HTTP_X_REQUEST_ID", "")
    # 32 random hex digits. Unique, not secret: the random module (reseeded in every forked worker) costs no
    # system call, where os.urandom would release the GIL, and then wait for it, on every request.
    return incoming if SANE_REQUEST_ID.match(incoming) else f"{random.getrandbits(128):032x}"
