import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from . import metrics, pools, readiness
from .access import ops_endpoint
from .uptime import uptime_seconds

logger = logging.getLogger("ops.views")


def health_body() -> dict:
    return {"status": "ok", "version": settings.RELEASE, "uptime_seconds": uptime_seconds(3)}


@ops_endpoint(protected=False)
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No database, cache or broker call, ever.

    Deployed, ops.wsgi answers these paths itself before the page cache and Django; this view serves
    Django's test client and any set-up without that wrapper.
    """
    return JsonResponse(health_body())


@ops_endpoint(protected=False)
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness (see ops/readiness.py for the policy): 200 ok or degraded, 503 unavailable or draining."""
    try:
        status, body = readiness.readiness()
    except Exception:  # a readiness probe answers; it never shows a 500 page
        logger.exception("readiness check failed")
        status, body = 503, {"status": "unavailable", "version": settings.RELEASE, "error": "check_failed"}
    return JsonResponse(body, status=status)


@ops_endpoint(protected=True)
def pool_stats(request: HttpRequest) -> JsonResponse:
    """Pool statistics of the worker that answers, plus what all workers share."""
    return JsonResponse(pools.snapshot())


@ops_endpoint(protected=True)
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, summed over every gunicorn worker."""
    pools.refresh_pool_gauges()
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)
