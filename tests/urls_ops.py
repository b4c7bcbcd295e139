"""The real URLconf plus test-only views for the ops tests (served by a real gunicorn through
DJANGO_ROOT_URLCONF): a slow request, one that logs, one that fails. Never in production URLs."""

import logging
import time

from django.http import JsonResponse
from django.urls import path

from biomuseum.urls import handler400, handler403, handler404, handler500
from biomuseum.urls import urlpatterns as project_urlpatterns

logger = logging.getLogger("tests.views")


def slow(request):
    seconds = min(float(request.GET.get("seconds", "2")), 10.0)
    logger.info("slow request started")
    time.sleep(seconds)
    return JsonResponse({"slept": seconds})


def chatty(request):
    logger.info("first line from the view")
    logger.warning("second line from the view", extra={"detail": "something"})
    return JsonResponse({"ok": True})


def boom(request):
    raise RuntimeError("an unexpected failure")


urlpatterns = [
    path("api/v1/slow/", slow, name="test-slow"),
    path("api/v1/chatty/", chatty, name="test-chatty"),
    path("api/v1/boom/", boom, name="test-boom"),
    *project_urlpatterns,
]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
