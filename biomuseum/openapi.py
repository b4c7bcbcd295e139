"""OpenAPI additions drf-spectacular cannot infer: the error envelope every operation may answer with."""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "request_id"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
        },
        "request_id": {"type": "string", "nullable": True},
        "error_id": {"type": "string"},
        "retry_after": {"type": "integer"},
    },
}
ERRORS = {
    "400": "The request is invalid: unknown or malformed parameters, fields or body.",
    "401": "Credentials are needed (writes).",
    "403": "The account lacks the permission.",
    "404": "Not found (or not public).",
    "405": "The method is not allowed here.",
    "406": "The API answers JSON only.",
    "413": "The body is too large.",
    "415": "The body's content type is not accepted.",
    "429": "Rate limited: see Retry-After.",
    "500": "An unexpected error; quote the error_id.",
    "503": "A dependency is unavailable.",
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    """A postprocessing hook: document the JSON error envelope on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result
