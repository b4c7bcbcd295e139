from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from biomuseum import languages
from biomuseum.images import ALT_TEXT_REQUIRED
from biomuseum.queryparams import DetailParams, QueryParamsSerializer
from biomuseum.serializers import (
    FieldsBuiltOnceMixin,
    ProcessedImageSerializer,
    SparseFieldsMixin,
    StrictInputMixin,
    media_url,
)
from biomuseum.slugs import UniqueSlugMixin

from . import related, services
from .models import (
    CURATED_FIELDS,
    ConservationStatus,
    Organism,
    OrganismImage,
    Taxon,
    TaxonRank,
    VernacularName,
    public_name,
)


@extend_schema_field(OpenApiTypes.STR)
class CommonNameField(serializers.Field):
    """The record's common name in the response's language (context["language"], see biomuseum.languages):
    the best name along the language's fallback chain (`pt-BR`, `pt`, the default language) from
    context["common_names"] ({taxon id: name}, filled by the view), else the scientific name. An organism's
    own `common_name` is its name in the default language, so the default costs no lookup."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, record) -> str:
        language = self.context.get("language")
        names = self.context.get("common_names", {})
        if isinstance(record, Organism):
            own = record.common_name or record.scientific_name
            return own if language is None or language.is_default else names.get(record.taxon_id) or own
        return names.get(record.pk) or record.scientific_name


class OrganismImageSerializer(ProcessedImageSerializer):
    caption = serializers.CharField(read_only=True)
    credit = serializers.CharField(read_only=True)
    licence = serializers.CharField(read_only=True)


class ThumbnailSerializer(serializers.Serializer):
    url = serializers.CharField()
    alt_text = serializers.CharField()
    placeholder = serializers.CharField()
    dominant_color = serializers.CharField()


def thumbnail_of(image: OrganismImage | None, request=None) -> dict | None:
    if image is None:
        return None
    return {
        "url": media_url(image.smallest_url(), request),
        "alt_text": image.alt_text,
        "placeholder": image.placeholder,
        "dominant_color": image.dominant_color,
    }


class OrganismSummarySerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    # An organism named and linked, wherever one is mentioned: a search suggestion, the species of a post.
    url = serializers.HyperlinkedIdentityField(view_name="organism-detail", lookup_field="slug")
    common_name = CommonNameField()

    class Meta:
        model = Organism
        fields = ["slug", "url", "common_name", "scientific_name"]


class MatchedNameSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=["scientific", "synonym", "vernacular"],
        help_text="The accepted scientific name, a synonym's, or a vernacular name.",
    )
    language = serializers.CharField(allow_null=True, help_text="A vernacular name's BCP 47 tag.")


class AutocompleteSuggestionSerializer(OrganismSummarySerializer):
    """A species found by one of its names: `matched_name` is the one that matched (a synonym, or a name in
    any language), the rest is the accepted record it leads to."""

    matched_name = MatchedNameSerializer(read_only=True)

    class Meta(OrganismSummarySerializer.Meta):
        fields = [*OrganismSummarySerializer.Meta.fields, "matched_name"]


class OrganismListSerializer(SparseFieldsMixin, FieldsBuiltOnceMixin, serializers.ModelSerializer):
    """The lean list representation."""

    url = serializers.HyperlinkedIdentityField(view_name="organism-detail", lookup_field="slug")
    common_name = CommonNameField()
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = Organism
        fields = [
            "slug",
            "url",
            "common_name",
            "scientific_name",
            "kingdom",
            "class",
            "conservation_status",
            "thumbnail",
        ]

    def build_field(self, field_name, info, model_class, nested_depth):
        if field_name == "class":
            return serializers.CharField, {"source": "class_name", "read_only": True}
        return super().build_field(field_name, info, model_class, nested_depth)

    def get_thumbnail(self, organism) -> ThumbnailSerializer(allow_null=True):
        images = organism.images.all()  # prefetched: ready images in order
        return thumbnail_of(images[0] if images else None, self.context.get("request"))


class VernacularNameSerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    class Meta:
        model = VernacularName
        fields = ["name", "language", "region", "preferred"]


TIMESTAMPS = ["created_at", "updated_at"]


def _with_label(name: str) -> tuple[str, ...]:
    """A choice field and, right after it, its human-readable label."""
    return (name, f"{name}_label") if name == "conservation_status" else (name,)


class OrganismDetailSerializer(SparseFieldsMixin, FieldsBuiltOnceMixin, serializers.ModelSerializer):
    """The rich detail representation."""

    url = serializers.HyperlinkedIdentityField(view_name="organism-detail", lookup_field="slug")
    common_name = CommonNameField()
    common_names = serializers.SerializerMethodField(help_text="Every vernacular name, with its language.")
    taxon = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The id of its taxon (GET /api/v1/taxa/{id}/): the writes' `taxon`."
    )
    conservation_status_label = serializers.CharField(source="get_conservation_status_display", read_only=True)
    images = OrganismImageSerializer(many=True, read_only=True)

    class Meta:
        model = Organism
        fields = [
            "slug",
            "url",
            *(name for field in CURATED_FIELDS for name in _with_label(public_name(field))),
            "taxon",
            "common_names",
            "images",
            *TIMESTAMPS,
        ]

    @classmethod
    def field_names(cls) -> list[str]:
        """The organism's own fields, then the content registered in organisms.related, then the timestamps."""
        own = [name for name in cls.Meta.fields if name not in TIMESTAMPS]
        return [*own, *related.field_names(), *TIMESTAMPS]

    @classmethod
    def fields_key(cls) -> object:
        return related.registered()

    def get_fields(self):
        fields = {**super().get_fields(), **related.fields()}
        return {name: fields[name] for name in self.field_names()}

    def build_field(self, field_name, info, model_class, nested_depth):
        if field_name in ("class", "order"):
            return serializers.CharField, {"source": f"{field_name}_name", "read_only": True}
        return super().build_field(field_name, info, model_class, nested_depth)

    def get_common_names(self, organism) -> VernacularNameSerializer(many=True):
        names = self.context.get("vernacular_names", {}).get(organism.taxon_id, [])
        return VernacularNameSerializer(names, many=True).data


class OrganismWriteSerializer(UniqueSlugMixin, StrictInputMixin, serializers.ModelSerializer):
    """What staff may set. Timestamps, images and their processing state are the server's. The scientific name
    and ranks come from `taxon` when it is sent; without it they place the record in the tree as before, so
    clients written before the tree keep working."""

    slug_taken_message = "An organism with this slug already exists."

    slug = serializers.SlugField(max_length=140, required=False)
    taxon = serializers.PrimaryKeyRelatedField(
        queryset=Taxon.objects.select_related("accepted"),
        pk_field=serializers.IntegerField(),  # 1.5 is not taxon 1
        required=False,
        help_text="The id of an accepted taxon of rank species, subspecies or variety. The scientific name and "
        "the ranks come from it: leave them out.",
        error_messages={"does_not_exist": "No taxon has the id {pk_value}."},
    )

    class Meta:
        model = Organism
        fields = ["slug", *map(public_name, CURATED_FIELDS), "is_published", "taxon"]
        extra_kwargs = {"scientific_name": {"required": False}, "kingdom": {"required": False}}

    def validate_taxon(self, taxon: Taxon) -> Taxon:
        try:
            services.validate_organism_taxon(taxon, organism=self.instance)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["taxon"]) from error
        return taxon

    def validate(self, attrs: dict) -> dict:
        if "taxon" in attrs:
            given = [public_name(name) for name in services.FIELDS_FROM_THE_TAXON if name in attrs]
            if given:
                raise serializers.ValidationError(dict.fromkeys(given, [services.FROM_THE_TAXON]))
        elif self.instance is None:
            missing = [name for name in ("scientific_name", "kingdom") if name not in attrs]
            if missing:
                raise serializers.ValidationError(
                    dict.fromkeys(missing, ["This field is required, unless `taxon` is sent."])
                )
        return attrs

    def build_field(self, field_name, info, model_class, nested_depth):
        if field_name in ("class", "order"):
            return serializers.CharField, {
                "source": f"{field_name}_name",
                "max_length": 80,
                "required": False,
                "allow_blank": True,
            }
        return super().build_field(field_name, info, model_class, nested_depth)


class CatalogueParams(QueryParamsSerializer):
    """The parameters every catalogue read takes: `lang`, besides `fields`."""

    lang = serializers.CharField(
        required=False,
        max_length=languages.MAX_TAG_LENGTH,
        help_text="A BCP 47 language tag (en, fr, pt-BR) for `common_name`: it falls back to the parent "
        "language, then the site's default, then the scientific name. Without it, Accept-Language decides.",
    )

    def validate_lang(self, value: str) -> str:
        try:
            return languages.canonical(value)
        except languages.MalformedTag as error:
            raise serializers.ValidationError(str(error)) from error


class CatalogueDetailParams(CatalogueParams, DetailParams):
    pass


class OrganismListParams(CatalogueParams):
    search = serializers.CharField(required=False, max_length=200, trim_whitespace=True)
    kingdom = serializers.CharField(required=False, max_length=80)
    phylum = serializers.CharField(required=False, max_length=80)
    class_ = serializers.CharField(required=False, max_length=80)
    order = serializers.CharField(required=False, max_length=80)
    family = serializers.CharField(required=False, max_length=80)
    genus = serializers.CharField(required=False, max_length=80)
    conservation_status = serializers.CharField(
        required=False, max_length=100, help_text="One IUCN code or several, comma-separated (CR,EN)."
    )
    taxon = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="A taxon's id: the organisms at any depth beneath."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["class"] = fields.pop("class_")
        return fields

    def validate_conservation_status(self, value: str) -> list[str]:
        codes = [code.strip().upper() for code in value.split(",") if code.strip()]
        unknown = [code for code in codes if code not in ConservationStatus.values]
        if unknown or not codes:
            raise serializers.ValidationError(f"Use IUCN codes: {', '.join(ConservationStatus.values)}.")
        return codes


class AutocompleteParams(CatalogueParams):
    allow_pagination = False
    q = serializers.CharField(max_length=100, help_text="What the visitor has typed so far.")


class ImageUploadSerializer(StrictInputMixin, serializers.Serializer):
    file = serializers.FileField(help_text="JPEG, PNG or WebP, checked by content.")
    alt_text = serializers.CharField(
        max_length=300,
        error_messages={"required": ALT_TEXT_REQUIRED, "blank": ALT_TEXT_REQUIRED},
        help_text="What the photograph shows, for visitors who cannot see it.",
    )
    caption = serializers.CharField(max_length=500, required=False, allow_blank=True)
    credit = serializers.CharField(max_length=200, required=False, allow_blank=True)
    licence = serializers.CharField(max_length=100, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False)


class ImageStatusSerializer(OrganismImageSerializer):
    """The job's state, for staff: the database row is the truth."""

    url = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True)
    error = serializers.CharField(read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    processed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_url(self, image) -> str:
        request = self.context.get("request")
        path = f"/api/v1/organisms/{image.organism.slug}/images/{image.pk}/"
        return request.build_absolute_uri(path) if request else path


# --- the taxon tree ---

MAX_ID = 2**63 - 1  # the largest id the database stores: a larger one is a 400, not a database error


class TaxonSummarySerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    """A taxon named and linked: an ancestor, a child, a synonym, the accepted name of a synonym."""

    url = serializers.HyperlinkedIdentityField(view_name="taxon-detail", lookup_field="id")
    common_name = CommonNameField()

    class Meta:
        model = Taxon
        fields = ["id", "url", "rank", "scientific_name", "authorship", "common_name"]


class TaxonListSerializer(SparseFieldsMixin, TaxonSummarySerializer):
    parent = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="The parent's id.")

    class Meta(TaxonSummarySerializer.Meta):
        fields = [*TaxonSummarySerializer.Meta.fields, "status", "parent"]


class TaxonDetailSerializer(SparseFieldsMixin, TaxonSummarySerializer):
    parent = TaxonSummarySerializer(read_only=True, allow_null=True)
    accepted = TaxonSummarySerializer(read_only=True, allow_null=True, help_text="For a synonym: its accepted taxon.")
    ancestors = TaxonSummarySerializer(many=True, read_only=True, help_text="Kingdom first, down to the parent.")
    children = serializers.SerializerMethodField(help_text="The children, a cursor-paginated list.")
    children_count = serializers.IntegerField(read_only=True)
    organism_count = serializers.IntegerField(read_only=True, help_text="Published organisms at any depth beneath.")
    synonyms = TaxonSummarySerializer(many=True, read_only=True)
    common_names = VernacularNameSerializer(
        source="vernacular_names", many=True, read_only=True, help_text="Every vernacular name, with its language."
    )

    class Meta(TaxonSummarySerializer.Meta):
        fields = [
            *TaxonSummarySerializer.Meta.fields,
            "status",
            "parent",
            "accepted",
            "ancestors",
            "children",
            "children_count",
            "organism_count",
            "synonyms",
            "common_names",
            "gbif_key",
            "inaturalist_id",
            "col_id",
            "updated_at",
        ]

    @extend_schema_field(serializers.URLField())
    def get_children(self, taxon: Taxon) -> str:
        url = reverse("taxon-list")
        request = self.context.get("request")
        url = f"{url}?parent={taxon.pk}"
        return request.build_absolute_uri(url) if request is not None else url


class TaxonWriteSerializer(StrictInputMixin, serializers.ModelSerializer):
    """What staff set on a taxon. A new `parent` moves it with everything beneath (one transaction, one cache
    invalidation); a move under itself or a descendant, or a rank not below the parent's, is a 400."""

    parent = serializers.PrimaryKeyRelatedField(
        queryset=Taxon.objects.all(), allow_null=True, required=False, help_text="The parent's id; null: a root."
    )
    accepted = serializers.PrimaryKeyRelatedField(
        queryset=Taxon.objects.all(), allow_null=True, required=False, help_text="For a synonym: the accepted id."
    )

    class Meta:
        model = Taxon
        fields = ["rank", "scientific_name", "authorship", "parent", "status", "accepted",
                  "gbif_key", "inaturalist_id", "col_id"]  # fmt: skip
        # The model's constraints are checked by the services' full_clean() (a 400 all the same); DRF's own
        # validators for them would make `parent` required, and a root has none.
        validators = []


class TaxonSuggestionSerializer(TaxonSummarySerializer):
    """An accepted taxon found by one of its names (see AutocompleteSuggestionSerializer)."""

    matched_name = MatchedNameSerializer(read_only=True)

    class Meta(TaxonSummarySerializer.Meta):
        fields = [*TaxonSummarySerializer.Meta.fields, "matched_name"]


class TaxonListParams(CatalogueParams):
    rank = serializers.ChoiceField(choices=TaxonRank.choices, required=False)
    parent = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="A taxon's id.")
    q = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Part of a name, in any case: scientific (synonyms included) or vernacular, in any language.",
    )
