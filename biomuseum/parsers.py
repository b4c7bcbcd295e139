"""Request body parsers: DRF's, with every malformed body a 400 and never a 500."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser. A document nested deeper than Python's recursion limit (`[[[[…` in a kilobyte)
    raises RecursionError, which DRF does not catch: it was a 500 on every JSON endpoint, anonymous ones
    (subscriptions, the token endpoint) included."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
