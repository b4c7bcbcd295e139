"""The shape both public content endpoints share."""

from rest_framework import mixins
from rest_framework.viewsets import GenericViewSet

from .throttles import PublicReadThrottle, RateLimitHeadersMixin, StaffWriteThrottle


class ContentViewSet(
    RateLimitHeadersMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet,
):
    """Public reads by slug; staff writes with POST, PATCH and DELETE (no PUT: partial updates only).

    Subclasses declare `page_cache = {action: CachePolicy(...)}` for the reads the page cache may serve.
    """

    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    page_cache: dict = {}

    def get_throttles(self):
        return (
            [StaffWriteThrottle()] if self.request.method not in ("GET", "HEAD", "OPTIONS") else [PublicReadThrottle()]
        )

    def represent(self, serializer_class, instance, *, many: bool = False, fields: list[str] | None = None):
        context = {**self.get_serializer_context(), "fields": fields}
        return serializer_class(instance, many=many, context=context).data
