from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from blogs.views import ConfirmView, PostViewSet, SubscribeView, UnsubscribeView
from ops.views import health
from organisms.darwincore.views import DarwinCoreArchiveView
from organisms.views import OrganismViewSet, TaxonViewSet

from . import errors, media
from .logins import TokenLoginView, admin_login

router = SimpleRouter()
router.register("organisms", OrganismViewSet, basename="organism")
router.register("posts", PostViewSet, basename="post")
router.register("taxa", TaxonViewSet, basename="taxon")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("api/v1/exports/dwca.zip", DarwinCoreArchiveView.as_view(), name="dwca-export"),
    path("api/v1/auth/token/", TokenLoginView.as_view(), name="api-token"),
    path("api/v1/subscriptions/", SubscribeView.as_view(), name="subscribe"),
    path("api/v1/subscriptions/confirm/", ConfirmView.as_view(), name="subscription-confirm"),
    path("api/v1/subscriptions/unsubscribe/", UnsubscribeView.as_view(), name="subscription-unsubscribe"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/health", health, name="api-health"),
    path("ops/", include("ops.urls")),
    re_path(r"^(?:api|ops)/", errors.json_not_found),
    path(f"{settings.ADMIN_URL}login/", admin_login, name="admin-login"),
    path(settings.ADMIN_URL, admin.site.urls),
]
if settings.SERVE_MEDIA:
    # Renditions only (biomuseum/media.py): originals keep their metadata and are never served.
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [
        re_path(rf"^{media_prefix}renditions/(?P<path>.*)$", media.rendition),
    ]

handler400 = errors.handler400
handler403 = errors.handler403
handler404 = errors.handler404
handler500 = errors.handler500
