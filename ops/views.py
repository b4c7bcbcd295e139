import time

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from .apps import STARTED_AT


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No database, cache or broker call, ever."""
    return JsonResponse(
        {"status": "ok", "version": settings.RELEASE, "uptime_seconds": round(time.monotonic() - STARTED_AT, 3)}
    )
