"""Keyset (cursor) pagination over a unique, indexed ordering.

No COUNT and no OFFSET: a page 50,000 rows deep costs what the first page costs.
A cursor is signed and names the endpoint and ordering it was made for, so a
tampered, truncated or borrowed cursor is a 400, never a 500 or a wrong page.
"""

import json
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

CURSOR_SALT = "biomuseum.pagination.cursor"
# A sort key of at most 200 characters is at most 800 bytes of UTF-8, about 1,100 characters once in base64
# and signed; the bound keeps every documented query string within what the HTTP server accepts (a 4 KB
# request line).
CURSOR_MAX_LENGTH = 2048


class _CursorJSON:
    """Django's signing serializer, but UTF-8 rather than escaped ASCII: an escaped character outside the
    Basic Multilingual Plane is 12 characters, and a long name of them made a cursor too long to accept."""

    def dumps(self, obj) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(self, data: bytes):
        return json.loads(data.decode())


def parse_page_size(raw: str | None) -> int:
    if raw in (None, ""):
        return settings.API_PAGE_SIZE
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({"page_size": ["Must be a whole number from 1 to 100."]}) from None
    if size < 1:
        raise ValidationError({"page_size": ["Must be a whole number from 1 to 100."]})
    return min(size, settings.API_MAX_PAGE_SIZE)


@dataclass(frozen=True)
class Cursor:
    reverse: bool
    position: list


class KeysetPagination(BasePagination):
    """`ordering` is a tuple of model field names, `-` for descending; together they must be unique."""

    ordering: tuple[str, ...] = ("-id",)
    cursor_query_param = "cursor"

    def __init__(self, ordering: tuple[str, ...] | None = None):
        if ordering:
            self.ordering = ordering

    # --- cursor encoding ---
    def _scope(self, view) -> str:
        return f"{getattr(view, 'basename', type(view).__name__)}:{','.join(self.ordering)}"

    def encode_cursor(self, cursor: Cursor) -> str:
        position = [self.scope, cursor.reverse, cursor.position]
        return signing.dumps(position, salt=CURSOR_SALT, serializer=_CursorJSON, compress=False)

    def decode_cursor(self, raw: str) -> Cursor:
        invalid = ValidationError({"cursor": ["Invalid cursor. Use the next or previous link of a page."]})
        if len(raw) > CURSOR_MAX_LENGTH:
            raise invalid
        try:
            scope, reverse, position = signing.loads(raw, salt=CURSOR_SALT, serializer=_CursorJSON)
        except (signing.BadSignature, ValueError, TypeError):
            raise invalid from None
        if scope != self.scope or not isinstance(reverse, bool) or not isinstance(position, list):
            raise invalid
        if len(position) != len(self.ordering):
            raise invalid
        return Cursor(reverse=reverse, position=position)

    # --- the query ---
    def _fields(self, reverse: bool) -> list[tuple[str, bool]]:
        """(field, descending) pairs in query order."""
        return [(name.lstrip("-"), name.startswith("-") != reverse) for name in self.ordering]

    def _after(self, model, cursor: Cursor) -> Q:
        """Rows strictly after `position` in the (possibly reversed) ordering."""
        fields = self._fields(cursor.reverse)
        values = []
        for (name, _), raw in zip(fields, cursor.position, strict=True):
            try:
                value = None if isinstance(raw, (list, dict)) else model._meta.get_field(name).to_python(raw)
            except Exception:
                value = None
            if value is None:  # the sort keys are never null; a position of nulls (or lists) is no position
                raise ValidationError({"cursor": ["Invalid cursor."]})
            values.append(value)
        condition = Q()
        for index, (name, descending) in enumerate(fields):
            step = Q(**{f"{name}__{'lt' if descending else 'gt'}": values[index]})
            for earlier, value in zip(fields[:index], values[:index], strict=False):
                step &= Q(**{earlier[0]: value})
            condition |= step
        return condition

    def _position(self, row) -> list:
        position = []
        for name in self.ordering:
            value = getattr(row, name.lstrip("-"))
            position.append(value.isoformat() if hasattr(value, "isoformat") else value)
        return position

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.request = request
        self.scope = self._scope(view)
        self.page_size = parse_page_size(request.query_params.get("page_size"))
        raw = request.query_params.get(self.cursor_query_param)
        cursor = self.decode_cursor(raw) if raw else None
        reverse = bool(cursor and cursor.reverse)
        order = [f"{'-' if descending else ''}{name}" for name, descending in self._fields(reverse)]
        if cursor:
            queryset = queryset.filter(self._after(queryset.model, cursor))
        rows = list(queryset.order_by(*order)[: self.page_size + 1])
        has_more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
            self.has_next, self.has_previous = True, has_more
        else:
            self.has_next, self.has_previous = has_more, cursor is not None
        self.page = rows
        return rows

    def _link(self, reverse: bool) -> str | None:
        url = self.request.build_absolute_uri()
        if not self.page:
            return None
        row = self.page[0] if reverse else self.page[-1]
        token = self.encode_cursor(Cursor(reverse=reverse, position=self._position(row)))
        return replace_query_param(url, self.cursor_query_param, token)

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if not self.page:  # nothing is left before a previous link's position: the list starts again
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self._link(reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.page:
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self._link(reverse=True)

    def get_paginated_response(self, data) -> Response:
        return Response(
            OrderedDict([("next", self.get_next_link()), ("previous", self.get_previous_link()), ("results", data)])
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque cursor from a page's next or previous link.",
                "schema": {"type": "string", "maxLength": CURSOR_MAX_LENGTH},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"Results per page, 1 to {settings.API_MAX_PAGE_SIZE} (larger values are capped).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]
