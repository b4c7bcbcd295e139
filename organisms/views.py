from django.utils.functional import classproperty
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from biomuseum.pagecache import CachePolicy
from biomuseum.pagination import KeysetPagination
from biomuseum.parsers import MultiPartParser
from biomuseum.permissions import staff_with
from biomuseum.queryparams import DetailParams
from biomuseum.viewsets import ContentViewSet

from . import related, selectors, services
from .models import Organism, OrganismImage, Taxon
from .serializers import (
    AutocompleteParams,
    AutocompleteSuggestionSerializer,
    ImageStatusSerializer,
    ImageUploadSerializer,
    OrganismDetailSerializer,
    OrganismListParams,
    OrganismListSerializer,
    OrganismWriteSerializer,
    TaxonDetailSerializer,
    TaxonListParams,
    TaxonListSerializer,
    TaxonSuggestionSerializer,
)


class OrganismPagination(KeysetPagination):
    ordering = ("scientific_name",)


@extend_schema_view(
    list=extend_schema(parameters=[OrganismListParams]),
    create=extend_schema(request=OrganismWriteSerializer, responses={201: OrganismDetailSerializer}),
    partial_update=extend_schema(request=OrganismWriteSerializer, responses={200: OrganismDetailSerializer}),
)
class OrganismViewSet(ContentViewSet):
    """Species records. Anyone reads published records; staff with model permissions write."""

    queryset = Organism.objects.all()
    pagination_class = OrganismPagination
    list_serializer_class = OrganismListSerializer
    detail_serializer_class = OrganismDetailSerializer
    write_serializer_class = OrganismWriteSerializer
    list_params = OrganismListParams

    @classproperty
    def page_cache(cls) -> dict:
        # Read when a route is first resolved, after every app's ready() has registered its related content.
        return {
            "list": CachePolicy(families=("organisms",), params=OrganismListParams),
            "retrieve": CachePolicy(
                families=("organisms", *related.families()), params=DetailParams, expires=related.next_change_at
            ),
            "autocomplete": CachePolicy(families=("organisms",), params=AutocompleteParams),
        }

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.organism_detail_queryset()
        return Organism.objects.all()

    def detail_field_names(self) -> list[str]:
        return OrganismDetailSerializer.field_names()

    def list_queryset(self, params: dict):
        return selectors.organism_list(filters=params, search=params.get("search", ""))

    def staff_detail_queryset(self):
        return selectors.organism_detail_queryset(include_unpublished=True)

    def perform_create(self, serializer):
        return services.organism_create(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        return services.organism_update(
            organism=serializer.instance, user=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.organism_delete(organism=instance, user=self.request.user)

    @extend_schema(request={"multipart/form-data": ImageUploadSerializer}, responses={202: ImageStatusSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="images",
        parser_classes=[MultiPartParser],
        permission_classes=[staff_with("organisms.add_organismimage")],
    )
    def upload_image(self, request, slug=None):
        """Upload a photograph; its renditions are made in the background (poll the status resource)."""
        organism = self.get_object()
        serializer = ImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        image = services.organism_image_add(organism=organism, user=request.user, upload=data.pop("file"), **data)
        body = ImageStatusSerializer(image, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})

    @extend_schema(responses={200: ImageStatusSerializer})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"images/(?P<image_id>[0-9]+)",
        permission_classes=[staff_with("organisms.view_organismimage")],
    )
    def image_status(self, request, slug=None, image_id=None):
        """Where an image's processing stands: pending, processing, ready or failed (with the error)."""
        image = get_object_or_404(OrganismImage.objects.select_related("organism"), pk=image_id, organism__slug=slug)
        return Response(ImageStatusSerializer(image, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={202: ImageStatusSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"images/(?P<image_id>[0-9]+)/reprocess",
        permission_classes=[staff_with("organisms.change_organismimage")],
    )
    def reprocess_image(self, request, slug=None, image_id=None):
        """Process an image again (after a failure)."""
        image = get_object_or_404(OrganismImage.objects.select_related("organism"), pk=image_id, organism__slug=slug)
        image = services.organism_image_reprocess(image=image, user=request.user)
        return Response(ImageStatusSerializer(image, context=self.get_serializer_context()).data, status=202)

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


class TaxonPagination(KeysetPagination):
    ordering = ("scientific_name", "id")


@extend_schema_view(list=extend_schema(parameters=[TaxonListParams]))
class TaxonViewSet(ContentViewSet):
    """The taxon tree, read-only: ranks from kingdom to variety, accepted names and their synonyms, vernacular
    names by language. A taxon is named by its id (names repeat across kingdoms)."""

    queryset = Taxon.objects.all()
    lookup_field = "id"
    lookup_value_regex = r"[0-9]{1,18}"  # within the database's integers: a longer one is a 404, not an error
    http_method_names = ["get", "head", "options"]
    pagination_class = TaxonPagination
    list_serializer_class = TaxonListSerializer
    detail_serializer_class = TaxonDetailSerializer
    list_params = TaxonListParams
    page_cache = {  # taxa are written with the catalogue, and bump its family (organisms/signals.py)
        "list": CachePolicy(families=("organisms",), params=TaxonListParams),
        "retrieve": CachePolicy(families=("organisms",), params=DetailParams),
        "autocomplete": CachePolicy(families=("organisms",), params=AutocompleteParams),
    }

    def get_queryset(self):
        return selectors.taxon_detail_queryset() if self.action == "retrieve" else Taxon.objects.all()

    def get_object(self):
        return selectors.with_tree_facts(super().get_object())

    def list_queryset(self, params: dict):
        return selectors.taxon_list(filters=params)

    @extend_schema(
        parameters=[AutocompleteParams],
        responses={
            200: inline_serializer("TaxonAutocompleteResponse", {"results": TaxonSuggestionSerializer(many=True)})
        },
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def autocomplete(self, request):
        """At most ten accepted taxa of any rank, found by their own, a synonym's or a vernacular name."""
        params = AutocompleteParams.parse(request.query_params)
        suggestions = selectors.taxon_autocomplete(query=params["q"])
        return Response({"results": self.represent(TaxonSuggestionSerializer, suggestions, many=True)})
