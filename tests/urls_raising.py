"""The real URLconf plus one view that fails, to see what an unhandled error looks like."""

from django.urls import path

from biomuseum.urls import handler400, handler403, handler404, handler500
from biomuseum.urls import urlpatterns as project_urlpatterns


def boom(request):
    raise RuntimeError("an unexpected failure")


urlpatterns = [path("api/v1/boom/", boom), path("boom/", boom), *project_urlpatterns]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
