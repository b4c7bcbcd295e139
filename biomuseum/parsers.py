"""Request body parsers: DRF's, with every malformed body a 400 and never a 500.

One place decides what a string in a request body may hold: no NUL characters (PostgreSQL cannot store
them, and no field here means one), whatever the field, in JSON and in forms alike. JSON is read as
UTF-8, whatever charset the request claims (RFC 8259), and an object that names a key twice is refused:
which of the two values a parser keeps differs between parsers, and a reviewer reading the body must see
what the server acts on.
"""

import json

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

NUL = "\x00"


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict:
    found = {}
    for key, value in pairs:
        if key in found:
            raise ParseError(f"JSON parse error - the key {key[:60]!r} appears more than once.")
        found[key] = value
    return found


def _refuse_constant(name: str):
    raise ParseError(f"JSON parse error - {name} is not a JSON value.")


def refuse_nul(data) -> None:
    """Raise a 400 when any string in the parsed body (keys included) holds a NUL character."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                raise ParseError("Text in the request may not contain NUL characters.")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


class JSONParser(parsers.JSONParser):
    """Strict JSON: UTF-8, no NaN or Infinity, no duplicate keys, no NUL. A document nested deeper than
    Python's recursion limit (`[[[[…` in a kilobyte) raises RecursionError, which DRF does not catch."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("JSON parse error - the body is not UTF-8.") from None
        try:
            data = json.loads(text, object_pairs_hook=_object_without_duplicates, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        refuse_nul(data)
        return data


def _refuse_nul_in_form(data: QueryDict) -> None:
    for key, values in data.lists():
        refuse_nul([key, *(value for value in values if isinstance(value, str))])


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _refuse_nul_in_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _refuse_nul_in_form(result.data)
        return result
