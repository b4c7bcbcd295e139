"""One JSON error envelope for every status >= 400 on /api/ and /ops/ paths.

`{"error": {"status", "code", "message", "fields"?}, "request_id", "error_id"?, "retry_after"?}`
"""

import logging
import math
import uuid

from django import db
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from . import ratelimits
from .envelopes import error_envelope, server_error_envelope
from .errorids import assign_error_id
from .images import StorageUnavailable

logger = logging.getLogger("biomuseum.errors")

JSON_PREFIXES = ("/api/", "/ops/")


def is_json_path(path: str) -> bool:
    return path.startswith(JSON_PREFIXES)


def error_body(request, status: int, code: str, message: str, fields: dict | None = None) -> dict:
    return error_envelope(getattr(request, "request_id", None), status, code, message, fields)


def error_response(request, status: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(request, status, code, message, fields), status=status)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def api_exception_handler(exc, context):
    """DRF's handler, reshaped into the envelope; Django exceptions raised inside views become 4xx too."""
    request = context["request"]
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        return database_unavailable(request, exc)
    if isinstance(exc, StorageUnavailable):
        logger.error("storage unavailable: %s", exc, exc_info=exc)
        exc = exceptions.APIException(str(exc), code="storage_unavailable")
        exc.status_code = 503
    if isinstance(exc, RequestDataTooBig):
        exc = exceptions.APIException("The request body is too large.", code="too_large")
        exc.status_code = 413
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = exceptions.ValidationError(str(exc) or "Too many fields in the request.")
    elif isinstance(exc, DjangoValidationError):
        # A model's full_clean() inside a service: the client's input was wrong, not the server.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, (Http404, ObjectDoesNotExist)):
        exc = exceptions.NotFound()  # ObjectDoesNotExist: a record deleted while the request was on its way
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    fields = None
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        if isinstance(detail, dict):
            fields = {key: value for key, value in detail.items() if key != "non_field_errors"} or None
            general = _first_message(detail.get("non_field_errors", []))
            first_field = next(iter(fields), None) if fields else None
            message = general or (f"{first_field}: {_first_message(fields[first_field])}" if first_field else "")
        else:
            message = _first_message(detail)
        message = message or "The request is invalid."
    else:
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        message = _first_message(detail)
    if isinstance(exc, exceptions.Throttled):
        decision = getattr(exc, "decision", None) or ratelimits.Decision(True, reset=math.ceil(exc.wait or 60))
        body, limits = ratelimits.throttled(getattr(request, "request_id", None), decision)
        return Response(body, status=429, headers={**dict(response.items()), **limits})
    body = error_body(request, response.status_code, str(code), message, fields)
    return Response(body, status=response.status_code, headers=dict(response.items()))


def database_unavailable(request, exc: Exception) -> Response:
    """The database cannot be reached: a 503 the client can retry, with an error id, never a 500 page."""
    django_request = getattr(request, "_request", request)
    assign_error_id(request=django_request)
    error_id = django_request.error_id
    logger.error("database unavailable (error %s)", error_id, exc_info=exc, extra={"error_id": error_id})
    body = error_body(request, 503, "database_unavailable", "The service is briefly unavailable. Retry shortly.")
    body["error_id"] = error_id
    return Response(body, status=503, headers={"Retry-After": "5"})


def handler400(request, exception=None):
    if not is_json_path(request.path):
        return bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return error_response(request, 413, "too_large", "The request body is too large.")
    return error_response(request, 400, "bad_request", str(exception) or "Bad request.")


def handler403(request, exception=None):
    if not is_json_path(request.path):
        return permission_denied(request, exception)
    return error_response(request, 403, "permission_denied", "You do not have permission to do this.")


def handler404(request, exception=None):
    if not is_json_path(request.path):
        return page_not_found(request, exception)
    return error_response(request, 404, "not_found", "Not found.")


def handler500(request):
    if not is_json_path(request.path):
        return server_error(request)
    error_id = getattr(request, "error_id", None) or uuid.uuid4().hex
    return JsonResponse(server_error_envelope(getattr(request, "request_id", None), error_id), status=500)


@csrf_exempt  # it changes nothing: an unknown path is a 404 for every method, not a CSRF failure
def json_not_found(request, *args, **kwargs):
    """The catch-all for unmatched /api/ and /ops/ paths, so they answer JSON even in debug mode."""
    return handler404(request, Http404())


def csrf_failure(request, reason: str = ""):
    if not is_json_path(request.path):
        from django.views.csrf import csrf_failure as default_csrf_failure

        return default_csrf_failure(request, reason)
    return error_response(request, 403, "csrf_failed", f"CSRF check failed: {reason}")
