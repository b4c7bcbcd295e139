"""OpenAPI additions drf-spectacular cannot infer: who may call anonymously, the limits of path values, and the
error envelope every operation may answer with."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework.permissions import SAFE_METHODS

from .permissions import StaffModelPermissionsOrReadOnly
from .serializers import StrictInputMixin


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, knowing our permission classes and the length of a lookup value."""

    def get_auth(self) -> list[dict]:
        auths = super().get_auth()
        if {} not in auths and self._open_to_anonymous():
            auths.append({})  # the empty requirement: credentials are optional
        return auths

    def _open_to_anonymous(self) -> bool:
        permissions = self.view.get_permissions()
        if not permissions:  # no permission classes at all (the token endpoint signs people in)
            return True
        return self.method in SAFE_METHODS and all(
            isinstance(permission, StaffModelPermissionsOrReadOnly) for permission in permissions
        )

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictInputMixin):
            schema["additionalProperties"] = False  # any other field is a 400 naming it
        return schema

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        queryset = getattr(self.view, "queryset", None)
        lookup_field = getattr(self.view, "lookup_field", None)
        if queryset is None or lookup_field is None:
            return parameters
        max_length = queryset.model._meta.get_field(lookup_field).max_length
        for parameter in parameters:
            if parameter["name"] == lookup_field and max_length:
                parameter["schema"]["maxLength"] = max_length
        return parameters


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
# The one error on /api/ that is not the envelope: gunicorn refuses a request line longer than its
# limit_request_line (4094 bytes) before the application sees the request, with a small HTML page of its own.
URI_TOO_LONG = {
    "description": "The URL is longer than 4 KB; the HTTP server refuses it before the API does.",
    "content": {"text/html": {"schema": {"type": "string"}}},
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
            responses.setdefault("414", URI_TOO_LONG)
    return result
