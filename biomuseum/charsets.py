"""Form bodies are UTF-8 or refused (415): a form in another charset is decoded by Django as that charset,
and UTF-7 turns `+ADw-` into `<`, past every check that looked at the raw text. JSON is always read as UTF-8
(biomuseum/parsers.py), whatever charset its Content-Type names."""

import codecs

from django.http import HttpResponse

from .errors import error_response, is_json_path

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def _charset(content_type: str) -> str | None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


class FormCharsetMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        content_type = request.META.get("CONTENT_TYPE", "")
        charset = _charset(content_type)
        if charset and content_type.split(";")[0].strip().lower() in FORM_TYPES and not _is_utf8(charset):
            message = "Form bodies must be UTF-8 (send charset=utf-8, or no charset)."
            if is_json_path(request.path_info):
                return error_response(request, 415, "unsupported_media_type", message)
            return HttpResponse(message, status=415, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
