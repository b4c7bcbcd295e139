from django.http import Http404, HttpResponsePermanentRedirect
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property, classproperty
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view, inline_serializer
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from biomuseum import languages
from biomuseum.pagecache import CachePolicy
from biomuseum.pagination import KeysetPagination
from biomuseum.parsers import MultiPartParser
from biomuseum.permissions import staff_with
from biomuseum.viewsets import ContentViewSet

from . import related, selectors, services
from .models import Organism, OrganismImage, Taxon
from .serializers import (
    AutocompleteParams,
    AutocompleteSuggestionSerializer,
    CatalogueDetailParams,
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
    TaxonWriteSerializer,
)


class SpeaksLanguages:
    """Catalogue reads answer `common_name` in one language: `?lang=`, else Accept-Language, matched against the
    supported languages (biomuseum.languages; the page cache keys on the same resolution). The response says
    which in Content-Language, and varies on Accept-Language when `lang` did not decide."""

    detail_params = CatalogueDetailParams

    @cached_property
    def language(self) -> languages.Language:
        given = self.request.query_params.get(languages.LANG_PARAM) or None
        try:
            return languages.resolve(given, self.request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
        except languages.MalformedTag as error:
            raise ValidationError({languages.LANG_PARAM: [str(error)]}) from error

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if "language" in self.__dict__:  # resolved for this response's representation
            response["Content-Language"] = self.language.tag
            if not request.query_params.get(languages.LANG_PARAM):
                patch_vary_headers(response, ["Accept-Language"])
        return response


def _suggestion_example(title: str, typed: str, matched: dict, language: str = "en") -> OpenApiExample:
    common = {"en": "Cougar", "fr": "Puma"}[language]
    suggestion = {"slug": "puma-concolor", "url": "https://museum.example/api/v1/organisms/puma-concolor/",
                  "common_name": common, "scientific_name": "Puma concolor", "matched_name": matched}  # fmt: skip
    return OpenApiExample(title, description=f"`?q={typed}`", value={"results": [suggestion]}, response_only=True)


SYNONYM_SUGGESTION = _suggestion_example(
    "A synonym leads to the accepted species",
    "felis con",
    {"name": "Felis concolor", "kind": "synonym", "language": None},
)
VERNACULAR_SUGGESTION = _suggestion_example(
    "A name in another language", "couguar&lang=fr",
    {"name": "Couguar", "kind": "vernacular", "language": "fr"}, language="fr",
)  # fmt: skip


class OrganismPagination(KeysetPagination):
    ordering = ("scientific_name",)


@extend_schema_view(
    list=extend_schema(parameters=[OrganismListParams]),
    retrieve=extend_schema(parameters=[CatalogueDetailParams]),
    create=extend_schema(request=OrganismWriteSerializer, responses={201: OrganismDetailSerializer}),
    partial_update=extend_schema(request=OrganismWriteSerializer, responses={200: OrganismDetailSerializer}),
)
class OrganismViewSet(SpeaksLanguages, ContentViewSet):
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
                families=("organisms", *related.families()),
                params=CatalogueDetailParams,
                expires=related.next_change_at,
            ),
            "autocomplete": CachePolicy(families=("organisms",), params=AutocompleteParams),
        }

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.organism_detail_queryset()
        return Organism.objects.all()

    def retrieve(self, request, *args, **kwargs):
        """A synonym's slug (`felis-concolor`) answers 301 to the accepted species' record (`puma-concolor`)."""
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            accepted = selectors.organism_by_synonym(kwargs["slug"])
            if accepted is None:
                raise
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(accepted.get_absolute_url() + (f"?{query}" if query else ""))

    def detail_field_names(self) -> list[str]:
        return OrganismDetailSerializer.field_names()

    def list_queryset(self, params: dict):
        return selectors.organism_list(filters=params, search=params.get("search", ""))

    def representation_context(self, serializer_class, records: list) -> dict:
        """Common names in the response's language; on a detail every vernacular name, one query either way
        (none for a page in the default language: the organisms' own common names)."""
        language, taxon_ids = self.language, [record.taxon_id for record in records if record.taxon_id]
        if serializer_class is OrganismDetailSerializer:
            names = selectors.vernacular_names(taxon_ids)
            return {"language": language, "vernacular_names": names,
                    "common_names": selectors.best_names(names, language.chain)}  # fmt: skip
        if language.is_default:
            return {"language": language}
        return {"language": language, "common_names": selectors.common_names(taxon_ids, language.chain)}

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
        examples=[SYNONYM_SUGGESTION, VERNACULAR_SUGGESTION],
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def autocomplete(self, request):
        """At most ten suggestions for a search box, exact matches first."""
        params = AutocompleteParams.parse(request.query_params)
        suggestions = selectors.organism_autocomplete(query=params["q"])
        return Response({"results": self.represent(AutocompleteSuggestionSerializer, suggestions, many=True)})


class TaxonPagination(KeysetPagination):
    ordering = ("scientific_name", "id")


@extend_schema_view(
    list=extend_schema(parameters=[TaxonListParams]),
    retrieve=extend_schema(parameters=[CatalogueDetailParams]),
    create=extend_schema(request=TaxonWriteSerializer, responses={201: TaxonDetailSerializer}),
    partial_update=extend_schema(request=TaxonWriteSerializer, responses={200: TaxonDetailSerializer}),
)
class TaxonViewSet(SpeaksLanguages, ContentViewSet):
    """The taxon tree: ranks from kingdom to variety, accepted names and their synonyms, vernacular names by
    language. A taxon is named by its id (names repeat across kingdoms). Anyone reads; staff with the model
    permissions create and edit (a new parent moves the subtree); deleting is the admin's."""

    queryset = Taxon.objects.all()
    lookup_field = "id"
    lookup_value_regex = r"[0-9]{1,18}"  # within the database's integers: a longer one is a 404, not an error
    http_method_names = ["get", "post", "patch", "head", "options"]
    pagination_class = TaxonPagination
    list_serializer_class = TaxonListSerializer
    detail_serializer_class = TaxonDetailSerializer
    write_serializer_class = TaxonWriteSerializer
    list_params = TaxonListParams
    page_cache = {  # taxa are written with the catalogue, and bump its family (organisms/signals.py)
        "list": CachePolicy(families=("organisms",), params=TaxonListParams),
        "retrieve": CachePolicy(families=("organisms",), params=CatalogueDetailParams),
        "autocomplete": CachePolicy(families=("organisms",), params=AutocompleteParams),
    }

    def get_queryset(self):
        return selectors.taxon_detail_queryset() if self.action == "retrieve" else Taxon.objects.all()

    def get_object(self):
        return selectors.with_tree_facts(super().get_object())

    def list_queryset(self, params: dict):
        return selectors.taxon_list(filters=params)

    def staff_detail_queryset(self):
        return selectors.taxon_detail_queryset()

    def represent_for_staff(self, instance) -> dict:
        taxon = selectors.with_tree_facts(self.staff_detail_queryset().get(pk=instance.pk))
        return self.represent(self.detail_serializer_class, taxon)

    def perform_create(self, serializer):
        fields = dict(serializer.validated_data)
        return services.taxon_create(parent=fields.pop("parent", None), **fields)

    def perform_update(self, serializer):
        return services.taxon_update(taxon=serializer.instance, user=self.request.user, **serializer.validated_data)

    def representation_context(self, serializer_class, records: list) -> dict:
        """Common names in the response's language for every taxon shown, the breadcrumb's too: one query."""
        shown = set()
        for taxon in records:
            related_taxa = [taxon.parent, taxon.accepted] if serializer_class is TaxonDetailSerializer else []
            if serializer_class is TaxonDetailSerializer:
                related_taxa += [*taxon.ancestors, *taxon.synonyms.all()]
            shown |= {taxon.pk, *(other.pk for other in related_taxa if other is not None)}
        return {"language": self.language, "common_names": selectors.common_names(shown, self.language.chain)}

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
