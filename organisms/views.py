from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from biomuseum.pagecache import CachePolicy
from biomuseum.pagination import KeysetPagination
from biomuseum.queryparams import DetailParams, parse_field_list
from biomuseum.viewsets import ContentViewSet
from blogs.selectors import next_publication_at

from . import selectors, services
from .models import Organism
from .serializers import (
    AutocompleteParams,
    OrganismDetailSerializer,
    OrganismListParams,
    OrganismListSerializer,
    OrganismWriteSerializer,
)


class OrganismPagination(KeysetPagination):
    ordering = ("scientific_name",)


class AutocompleteSuggestionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="organism-detail", lookup_field="slug")

    class Meta:
        model = Organism
        fields = ["slug", "url", "common_name", "scientific_name"]


class OrganismViewSet(ContentViewSet):
    """Species records. Anyone reads published records; staff with model permissions write."""

    queryset = Organism.objects.all()
    pagination_class = OrganismPagination
    page_cache = {
        "list": CachePolicy(families=("organisms",), params=OrganismListParams),
        "retrieve": CachePolicy(families=("organisms", "posts"), params=DetailParams, expires=next_publication_at),
        "autocomplete": CachePolicy(families=("organisms",), params=AutocompleteParams),
    }

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.organism_detail_queryset()
        return Organism.objects.all()

    def get_serializer_class(self):
        if self.action in ("create", "partial_update"):
            return OrganismWriteSerializer
        return OrganismDetailSerializer if self.action == "retrieve" else OrganismListSerializer

    @extend_schema(parameters=[OrganismListParams])
    def list(self, request, *args, **kwargs):
        params = OrganismListParams.parse(request.query_params)
        fields = parse_field_list(params.get("fields"), OrganismListSerializer.Meta.fields)
        queryset = selectors.organism_list(filters=params, search=params.get("search", ""))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.represent(OrganismListSerializer, page, many=True, fields=fields))

    @extend_schema(parameters=[DetailParams])
    def retrieve(self, request, *args, **kwargs):
        params = DetailParams.parse(request.query_params)
        fields = parse_field_list(params.get("fields"), OrganismDetailSerializer.Meta.fields)
        return Response(self.represent(OrganismDetailSerializer, self.get_object(), fields=fields))

    @extend_schema(request=OrganismWriteSerializer, responses={201: OrganismDetailSerializer})
    def create(self, request, *args, **kwargs):
        serializer = OrganismWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organism = services.organism_create(user=request.user, **serializer.validated_data)
        organism = selectors.organism_detail_queryset(include_unpublished=True).get(pk=organism.pk)
        return Response(self.represent(OrganismDetailSerializer, organism), status=status.HTTP_201_CREATED)

    @extend_schema(request=OrganismWriteSerializer, responses={200: OrganismDetailSerializer})
    def partial_update(self, request, *args, **kwargs):
        organism = self.get_object()
        serializer = OrganismWriteSerializer(organism, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.organism_update(organism=organism, user=request.user, **serializer.validated_data)
        organism = selectors.organism_detail_queryset(include_unpublished=True).get(pk=organism.pk)
        return Response(self.represent(OrganismDetailSerializer, organism))

    def perform_destroy(self, instance):
        services.organism_delete(organism=instance, user=self.request.user)

    @extend_schema(
        parameters=[AutocompleteParams],
        responses={
            200: inline_serializer("AutocompleteResponse", {"results": AutocompleteSuggestionSerializer(many=True)})
        },
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def autocomplete(self, request):
        """At most ten suggestions for a search box, exact matches first."""
        params = AutocompleteParams.parse(request.query_params)
        suggestions = selectors.organism_autocomplete(query=params["q"])
        return Response({"results": self.represent(AutocompleteSuggestionSerializer, suggestions, many=True)})
