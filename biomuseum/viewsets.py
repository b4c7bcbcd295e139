"""The shape both public content endpoints share."""

from rest_framework import mixins
from rest_framework.viewsets import GenericViewSet


class ContentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet,
):
    """Public reads by slug; staff writes with POST, PATCH and DELETE (no PUT: partial updates only)."""

    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def represent(self, serializer_class, instance, *, many: bool = False, fields: list[str] | None = None):
        context = {**self.get_serializer_context(), "fields": fields}
        return serializer_class(instance, many=many, context=context).data
