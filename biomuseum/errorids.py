"""Error ids: one id per unhandled exception, shown to the client, logged with the traceback, sent to Sentry.

Django sends `got_request_exception` before it renders handler500; the receiver here picks the id
(Sentry's event id when Sentry is on, a fresh uuid4 otherwise) and leaves it on the request, where
errors.handler500 and the log filter below find it. Django's own "Internal Server Error"
line on `django.request` carries the traceback; the filter adds the error id to it.
"""

import logging
import uuid

from django.http import HttpRequest


def sentry_event_id(request: HttpRequest | None = None) -> str | None:
    """The id of the event Sentry recorded for the exception being handled, if Sentry is on."""
    try:
        import sentry_sdk
    except ImportError:  # pragma: no cover - sentry-sdk is a pinned requirement
        return None
    if not sentry_sdk.get_client().is_active():
        return None
    if getattr(request, "_sentry_exception_reported", False):
        # Sentry's own receiver (connected first, at sentry_sdk.init) has captured it in this request's scope.
        return sentry_sdk.last_event_id()
    return sentry_sdk.capture_exception()


def assign_error_id(sender=None, request: HttpRequest | None = None, **kwargs) -> None:
    if request is None or getattr(request, "error_id", None):
        return
    request.error_id = sentry_event_id(request) or uuid.uuid4().hex


class ErrorIdLogFilter(logging.Filter):
    """Adds the request's error id to Django's log line about an unhandled exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        error_id = getattr(getattr(record, "request", None), "error_id", None)
        if error_id:
            record.error_id = error_id
        return True
