"""The outermost WSGI layer: request id, timing, the access log line and request metrics.

It wraps the page cache (biomuseum.pagecache.PageCacheApp), so cache hits, which never reach
Django, get the same X-Request-ID, X-Response-Time, access line and metrics as rendered pages: it
chooses the request's one id (inner layers read it from HTTP_X_REQUEST_ID), and counts the route
and outcome the page cache leaves in the environ (one URL resolve per path, the cache's). It also
answers the liveness probe itself. It is on the hot path: a few attribute lookups, one
histogram update and one log line per request.
"""

import logging
import sys
import uuid
from time import perf_counter
from types import SimpleNamespace

import orjson

from biomuseum import pagecache
from biomuseum.clientip import client_ip
from biomuseum.envelopes import server_error_envelope
from biomuseum.errorids import sentry_event_id
from biomuseum.errors import is_json_path

from .logs import write_access_line
from .metrics import count_page_cache, method_label, record_request, route_name
from .requestids import ENVIRON_KEY, current_request_id, request_id_from
from .views import health_body

HEALTH_PATHS = frozenset({"/ops/health/", "/api/health"})
# What Django's never_cache and security middleware would send with the health view's answer.
HEALTH_HEADERS = (
    ("Content-Type", "application/json"),
    ("Cache-Control", "max-age=0, no-cache, no-store, must-revalidate, private"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)
ACCESS_LOGGER = "biomuseum.access"
access_logger = logging.getLogger(ACCESS_LOGGER)
logger = logging.getLogger("ops.wsgi")
INFO = logging.INFO


class RequestContextApp:
    def __init__(self, application):
        self.application = application

    def __call__(self, environ: dict, start_response):
        started = perf_counter()
        request_id = request_id_from(environ)
        environ["HTTP_X_REQUEST_ID"] = request_id  # inner layers (and Django's request.META) agree on it
        environ[ENVIRON_KEY] = request_id  # ...and leave the response headers to this layer
        token = current_request_id.set(request_id)
        answered = [None, None]  # status line, X-Cache

        def start(status: str, headers: list, exc_info=None):
            answered[0] = status
            for name, value in headers:
                if name == "X-Cache":
                    answered[1] = value
            elapsed = f"{(perf_counter() - started) * 1000:.2f}ms"
            headers = [*headers, ("X-Request-ID", request_id), ("X-Response-Time", elapsed)]
            return start_response(status, headers, exc_info)

        try:
            try:
                if environ.get("PATH_INFO") in HEALTH_PATHS and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
                    result = self._health(environ, start)
                else:
                    result = self.application(environ, start)
            except Exception:
                result = self._crashed(environ, start, request_id)
            file_wrapper = environ.get("wsgi.file_wrapper")
            if type(result) is list or (isinstance(file_wrapper, type) and isinstance(result, file_wrapper)):
                # A cache hit (or a file gunicorn sends itself): complete now.
                self._finished(environ, answered, started, request_id)
                return result
            return _OnClose(result, lambda: self._finished(environ, answered, started, request_id), request_id)
        finally:
            current_request_id.reset(token)

    @staticmethod
    def _finished(environ: dict, answered: list, started: float, request_id: str) -> None:
        seconds = perf_counter() - started
        status = answered[0][:3] if answered[0] else "000"  # 000: the client left before an answer
        path = environ.get("PATH_INFO", "")
        method = method_label(environ.get("REQUEST_METHOD", ""))
        route = environ.get(pagecache.ROUTE) or route_name(path)
        record_request(route, method, status, seconds)
        for outcome in environ.get(pagecache.OUTCOMES, ()):
            count_page_cache(route, outcome)
        if access_logger.isEnabledFor(INFO):
            milliseconds = round(seconds * 1000, 2)
            fields = {
                "method": method,
                "path": path,
                "route": route,
                "status": int(status),
                "duration_ms": milliseconds,
                "client_ip": client_ip(SimpleNamespace(META=environ)),
            }
            if answered[1] is not None:
                fields["cache"] = answered[1]
            write_access_line(access_logger, "%s %s %s %sms", (method, path, status, milliseconds), fields)

    @staticmethod
    def _health(environ: dict, start) -> list[bytes]:
        """Liveness, answered here: a probe proves the worker serves, and costs it next to nothing."""
        body = orjson.dumps(health_body())
        start("200 OK", [*HEALTH_HEADERS, ("Content-Length", str(len(body)))])
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    @staticmethod
    def _crashed(environ: dict, start, request_id: str) -> list[bytes]:
        """An exception outside Django (in the page cache): the same 500 envelope and error id Django gives."""
        error_id = sentry_event_id() or uuid.uuid4().hex
        logger.error("unhandled exception", exc_info=True, extra={"error_id": error_id})
        path = environ.get("PATH_INFO", "")
        if is_json_path(path):
            body = orjson.dumps(server_error_envelope(request_id, error_id))
            content_type = "application/json"
        else:
            body = f"Server error. Error id: {error_id}\n".encode()
            content_type = "text/plain; charset=utf-8"
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start("500 Internal Server Error", headers, sys.exc_info())
        return [body]


class _OnClose:
    """The application's response iterable, plus a callback once the server has sent it and closed it."""

    __slots__ = ("result", "callback", "request_id")

    def __init__(self, result, callback, request_id: str):
        self.result = result
        self.callback = callback
        self.request_id = request_id

    def __iter__(self):
        return iter(self.result)

    def close(self) -> None:
        token = current_request_id.set(self.request_id)  # Django's request_finished handlers log too
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            try:
                self.callback()
            finally:
                current_request_id.reset(token)
