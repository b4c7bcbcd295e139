"""The shape both public content endpoints share."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from . import previews
from .queryparams import DetailParams, parse_field_list
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

    Subclasses name their serializers and list parameters, and supply the app's selectors and services:
    `list_queryset(params)`, `staff_detail_queryset()` (what staff see after a write, published or not), and
    `perform_create(serializer)` / `perform_update(serializer)` / `perform_destroy(instance)` calling a service
    (the first two return the instance written). They declare `page_cache = {action: CachePolicy(...)}` for the
    reads the page cache may serve, and the list's and writes' OpenAPI parameters with `extend_schema_view`.
    """

    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    page_cache: dict = {}
    list_serializer_class: type
    detail_serializer_class: type
    write_serializer_class: type
    list_params: type  # a QueryParamsSerializer
    detail_params: type = DetailParams

    def get_throttles(self):
        return (
            [StaffWriteThrottle()] if self.request.method not in ("GET", "HEAD", "OPTIONS") else [PublicReadThrottle()]
        )

    def get_serializer_class(self):
        if self.action in ("create", "partial_update"):
            return self.write_serializer_class
        return self.detail_serializer_class if self.action == "retrieve" else self.list_serializer_class

    def represent(self, serializer_class, instance, *, many: bool = False, fields: list[str] | None = None):
        records = list(instance) if many else [instance]
        extra = self.representation_context(serializer_class, records)
        context = {**self.get_serializer_context(), "fields": fields, **extra}
        return serializer_class(records if many else instance, many=many, context=context).data

    def representation_context(self, serializer_class, records: list) -> dict:
        """What the representation of `records` needs besides the records (looked up once for them all)."""
        return {}

    def detail_field_names(self) -> list[str]:
        return self.detail_serializer_class.Meta.fields

    def list_queryset(self, params: dict):
        raise NotImplementedError

    def staff_detail_queryset(self):
        raise NotImplementedError

    def perform_create(self, serializer):
        raise NotImplementedError  # a service writes, never `serializer.save()`

    def perform_update(self, serializer):
        raise NotImplementedError  # a service writes, never `serializer.save()`

    def represent_for_staff(self, instance) -> dict:
        return self.represent(self.detail_serializer_class, self.staff_detail_queryset().get(pk=instance.pk))

    def list(self, request, *args, **kwargs):
        params = self.list_params.parse(request.query_params)
        fields = parse_field_list(params.get("fields"), self.list_serializer_class.Meta.fields)
        page = self.paginate_queryset(self.list_queryset(params))
        return self.get_paginated_response(self.represent(self.list_serializer_class, page, many=True, fields=fields))

    @extend_schema(parameters=[DetailParams])
    def retrieve(self, request, *args, **kwargs):
        params = self.detail_params.parse(request.query_params)
        fields = parse_field_list(params.get("fields"), self.detail_field_names())
        if params.get("preview"):
            return self.preview(params["preview"], fields)
        return Response(self.represent(self.detail_serializer_class, self.get_object(), fields=fields))

    def preview(self, token: str, fields: "list[str] | None") -> Response:
        """The record the token names, published or not, to whoever holds it; never kept by any cache."""
        pk = previews.record_pk(token, self.queryset.model)
        instance = self.staff_detail_queryset().filter(pk=pk, slug=self.kwargs[self.lookup_field]).first()
        if instance is None:
            raise Http404
        response = Response(self.represent(self.detail_serializer_class, instance, fields=fields))
        response["Cache-Control"] = "private, no-store"
        return response

    def create(self, request, *args, **kwargs):
        serializer = self.write_serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_create(serializer)
        return Response(self.represent_for_staff(instance), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        serializer = self.write_serializer_class(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_update(serializer)
        return Response(self.represent_for_staff(instance))
