"""Request ids inside Django.

Deployed, ops.wsgi.RequestContextApp (outside the page cache) has already chosen the id, set the
context variable and will add the X-Request-ID and X-Response-Time headers; this middleware only
hands the id to the request. Without that wrapper (the test client, `runserver`), it does the job.
"""

import time

from .requestids import ENVIRON_KEY, current_request_id, request_id_from


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        outer = request.META.get(ENVIRON_KEY)
        if outer is not None:
            request.request_id = outer
            return self.get_response(request)
        started = time.perf_counter()
        request.request_id = request_id_from(request.META)
        token = current_request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request.request_id
        response["X-Response-Time"] = f"{(time.perf_counter() - started) * 1000:.2f}ms"
        return response
