"""Every response carries an X-Request-ID (see ops/requestids.py)."""

from .requestids import request_id_from


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.META)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response
