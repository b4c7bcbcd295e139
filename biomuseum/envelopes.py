"""The JSON error envelope of every answer >= 400 on /api/ and /ops/, whoever builds the answer: Django's
handlers and DRF's (errors.py), the page cache (a 429 before Django) and ops.wsgi (a crash outside Django).

`{"error": {"status", "code", "message", "fields"?}, "request_id", "error_id"?, "retry_after"?}`
(biomuseum/openapi.py documents it)
"""

SERVER_ERROR_MESSAGE = "An unexpected error occurred. Quote the error id when reporting it."
THROTTLED_MESSAGE = "Too many requests. Retry later."


def error_envelope(request_id: str | None, status: int, code: str, message: str, fields: dict | None = None) -> dict:
    error = {"status": status, "code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error, "request_id": request_id}


def server_error_envelope(request_id: str | None, error_id: str) -> dict:
    return {**error_envelope(request_id, 500, "server_error", SERVER_ERROR_MESSAGE), "error_id": error_id}


def throttled_envelope(request_id: str | None, retry_after: int) -> dict:
    return {**error_envelope(request_id, 429, "throttled", THROTTLED_MESSAGE), "retry_after": retry_after}
