import logging
import time

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from . import metrics, pools, readiness
from .access import ops_protected, safe_methods_only
from .apps import STARTED_AT

logger = logging.getLogger("ops.views")


def health_body() -> dict:
    return {"status": "ok", "version": settings.RELEASE, "uptime_seconds": round(time.monotonic() - STARTED_AT, 3)}


@csrf_exempt  # GET-only and changes nothing: no CSRF to guard against, and unsafe methods get the JSON 405
@never_cache
@safe_methods_only
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No database, cache or broker call, ever.

    Deployed, ops.wsgi answers these paths itself before the page cache and Django; this view serves
    Django's test client and any set-up without that wrapper.
    """
    return JsonResponse(health_body())


@csrf_exempt  # GET-only and changes nothing: no CSRF to guard against, and unsafe methods get the JSON 405
@never_cache
@safe_methods_only
@transaction.non_atomic_requests
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness (see ops/readiness.py for the policy): 200 ok or degraded, 503 unavailable or draining."""
    try:
        status, body = readiness.readiness()
    except Exception:  # a readiness probe answers; it never shows a 500 page
        logger.exception("readiness check failed")
        status, body = 503, {"status": "unavailable", "version": settings.RELEASE, "error": "check_failed"}
    return JsonResponse(body, status=status)


@csrf_exempt  # GET-only and changes nothing: no CSRF to guard against, and unsafe methods get the JSON 405
@never_cache
@safe_methods_only
@transaction.non_atomic_requests
@ops_protected
def pool_stats(request: HttpRequest) -> JsonResponse:
    """Pool statistics of the worker that answers, plus what all workers share."""
    return JsonResponse(pools.snapshot())


@csrf_exempt  # GET-only and changes nothing: no CSRF to guard against, and unsafe methods get the JSON 405
@never_cache
@safe_methods_only
@transaction.non_atomic_requests
@ops_protected
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, summed over every gunicorn worker."""
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)
