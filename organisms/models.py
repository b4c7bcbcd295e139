import secrets
from contextlib import suppress
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse

from biomuseum import languages, revisions
from biomuseum.images import ProcessedImage
from biomuseum.publicstate import PublicState
from biomuseum.textfold import fold


class ConservationStatus(models.TextChoices):
    """IUCN Red List categories, most threatened first."""

    EXTINCT = "EX", "Extinct"
    EXTINCT_IN_THE_WILD = "EW", "Extinct in the wild"
    CRITICALLY_ENDANGERED = "CR", "Critically endangered"
    ENDANGERED = "EN", "Endangered"
    VULNERABLE = "VU", "Vulnerable"
    NEAR_THREATENED = "NT", "Near threatened"
    LEAST_CONCERN = "LC", "Least concern"
    DATA_DEFICIENT = "DD", "Data deficient"
    NOT_EVALUATED = "NE", "Not evaluated"


# Model field name -> public name (`class` and `order` are not usable as attribute names).
TAXONOMY_RANKS = {
    "kingdom": "kingdom",
    "phylum": "phylum",
    "class_name": "class",
    "order_name": "order",
    "family": "family",
    "genus": "genus",
}

# What curators write about an organism (model field names), in the order forms and the API show them.
CURATED_FIELDS = (
    "common_name",
    "scientific_name",
    *TAXONOMY_RANKS,
    "conservation_status",
    "habitat",
    "distribution",
    "description",
)


def public_name(field: str) -> str:
    """The API's name for a model field: `class` and `order` for the ranks stored as class_name, order_name."""
    return TAXONOMY_RANKS.get(field, field)


class TaxonRank(models.TextChoices):
    """Linnaean ranks, highest first, with the intermediate ranks checklists use (Darwin Core's taxonRank)."""

    KINGDOM = "kingdom", "kingdom"
    PHYLUM = "phylum", "phylum"
    SUBPHYLUM = "subphylum", "subphylum"
    CLASS = "class", "class"
    SUBCLASS = "subclass", "subclass"
    ORDER = "order", "order"
    SUBORDER = "suborder", "suborder"
    SUPERFAMILY = "superfamily", "superfamily"
    FAMILY = "family", "family"
    SUBFAMILY = "subfamily", "subfamily"
    TRIBE = "tribe", "tribe"
    GENUS = "genus", "genus"
    SUBGENUS = "subgenus", "subgenus"
    SPECIES = "species", "species"
    SUBSPECIES = "subspecies", "subspecies"
    VARIETY = "variety", "variety"


RANK_LEVEL = {rank: level for level, rank in enumerate(TaxonRank.values)}  # higher ranks have lower levels
# The ranks an organism record names as fields, in the tree's order (model field -> rank).
FIELD_RANKS = {"kingdom": "kingdom", "phylum": "phylum", "class_name": "class", "order_name": "order",
               "family": "family", "genus": "genus"}  # fmt: skip
# An organism (the museum's published record) belongs to a taxon of one of these ranks.
ORGANISM_RANKS = frozenset({TaxonRank.SPECIES, TaxonRank.SUBSPECIES, TaxonRank.VARIETY})


class TaxonomicStatus(models.TextChoices):
    ACCEPTED = "accepted", "accepted"
    SYNONYM = "synonym", "synonym"


class FoldedNameQuerySet(models.QuerySet):
    """Rows created in bulk get their `search_name` as `save()` gives it (bulk_create calls no save())."""

    def bulk_create(self, objs, *args, record: bool = True, **kwargs):
        """`record=False`: the caller records the revisions itself, once the rows are complete (a taxon's
        path needs its id)."""
        objs = list(objs)
        for obj in objs:
            obj.normalize()
        created = super().bulk_create(objs, *args, **kwargs)
        if record:
            revisions.record_rows(self.model, [obj for obj in created if obj.pk], created=True)
        return created


class FoldedName(models.Model):
    """A model whose name is searched folded (biomuseum.textfold): `search_name` follows `NAME_FIELD` on every
    save and bulk create, indexed for exact and prefix matches (and, on PostgreSQL, for word starts)."""

    NAME_FIELD = "name"

    search_name = models.CharField(max_length=200, db_index=True, editable=False, default="")

    objects = FoldedNameQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.normalize()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and self.NAME_FIELD in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    def normalize(self) -> None:
        """What is derived from the written fields before every write, bulk ones included."""
        self.search_name = fold(getattr(self, self.NAME_FIELD))


class Taxon(FoldedName):
    """A node of the taxonomic tree, or a synonym pointing at its accepted name.

    `path` is the materialized path of ids from the kingdom down (`/1/42/317/`, this node's own id last), so
    every descendant of a node is one indexed prefix query at any depth, and the ancestors are the ids the
    path names. A synonym has no place in the tree: no parent, and an empty path.
    """

    NAME_FIELD = "scientific_name"

    rank = models.CharField(max_length=12, choices=TaxonRank.choices)
    scientific_name = models.CharField(max_length=200)
    authorship = models.CharField(max_length=200, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    status = models.CharField(max_length=8, choices=TaxonomicStatus.choices, default=TaxonomicStatus.ACCEPTED)
    accepted = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="synonyms",
        help_text="For a synonym: the accepted taxon it leads to.",
    )  # fmt: skip
    gbif_key = models.PositiveBigIntegerField("GBIF taxonKey", null=True, blank=True, unique=True)
    inaturalist_id = models.PositiveBigIntegerField("iNaturalist taxon id", null=True, blank=True, unique=True)
    col_id = models.CharField("Catalogue of Life id", max_length=20, null=True, blank=True, unique=True)
    source_id = models.CharField(
        "taxonID", max_length=255, null=True, blank=True, unique=True,
        help_text="The Darwin Core taxonID of the checklist this taxon was imported from; imports match on it.",
    )  # fmt: skip
    path = models.CharField(max_length=255, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = revisions.history_records()

    class Meta:
        ordering = ["scientific_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "rank", "scientific_name"],
                condition=models.Q(status="accepted"),
                name="taxon_unique_accepted_name_under_parent",
            ),
            models.UniqueConstraint(  # NULLs are distinct in the one above: roots need their own
                fields=["rank", "scientific_name"],
                condition=models.Q(status="accepted", parent__isnull=True),
                name="taxon_unique_accepted_root",
            ),
            models.CheckConstraint(
                condition=models.Q(status="accepted", accepted__isnull=True)
                | models.Q(status="synonym", accepted__isnull=False, parent__isnull=True),
                name="taxon_synonym_has_accepted",
            ),
        ]
        indexes = [
            models.Index(fields=["rank", "scientific_name"], name="taxon_rank_name"),
            models.Index(Upper("scientific_name"), name="taxon_name_upper"),
        ]
        verbose_name_plural = "taxa"

    def __str__(self) -> str:
        return f"{self.scientific_name} ({self.rank})"

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the kingdom down to the parent."""
        return [int(part) for part in self.path.strip("/").split("/")[:-1] if part]


def validate_language_tag(value: str) -> None:
    try:
        languages.canonical(value)
    except languages.MalformedTag as error:
        raise ValidationError(str(error)) from error


class VernacularName(FoldedName):
    """A common name of a taxon in one language (a BCP 47 tag), optionally of one region."""

    taxon = models.ForeignKey(Taxon, on_delete=models.CASCADE, related_name="vernacular_names")
    name = models.CharField(max_length=200)
    language = models.CharField(
        max_length=languages.MAX_TAG_LENGTH,
        validators=[validate_language_tag],
        help_text="A BCP 47 language tag: en, pt-BR, zh-Hant.",
    )
    region = models.CharField(max_length=100, blank=True)
    preferred = models.BooleanField(default=False, help_text="The name shown for this language.")

    history = revisions.history_records()

    class Meta:
        ordering = ["taxon", "language", "-preferred", "name"]
        constraints = [
            models.UniqueConstraint(fields=["taxon", "language", "name"], name="vernacular_unique_name"),
            models.UniqueConstraint(
                fields=["taxon", "language"], condition=models.Q(preferred=True), name="vernacular_one_preferred"
            ),
        ]
        indexes = [models.Index(Upper("name"), name="vernacular_name_upper")]

    def __str__(self) -> str:
        return f"{self.name} [{self.language}]"

    def normalize(self) -> None:
        """Also the language tag in its registered case (`pt-br` -> `pt-BR`): lookups compare tags exactly."""
        super().normalize()
        with suppress(languages.MalformedTag):  # full_clean() reports it; a bulk write keeps what it was given
            self.language = languages.canonical(self.language)


class OrganismQuerySet(models.QuerySet):
    def published(self) -> "OrganismQuerySet":
        return self.filter(is_published=True)


class Organism(PublicState):
    slug = models.SlugField(max_length=140, unique=True)
    common_name = models.CharField(max_length=200)
    scientific_name = models.CharField(max_length=200, unique=True)
    kingdom = models.CharField(max_length=80)
    phylum = models.CharField(max_length=80, blank=True)
    class_name = models.CharField("class", max_length=80, blank=True)
    order_name = models.CharField("order", max_length=80, blank=True)
    family = models.CharField(max_length=80, blank=True)
    genus = models.CharField(max_length=80, blank=True)
    conservation_status = models.CharField(
        max_length=2, choices=ConservationStatus.choices, default=ConservationStatus.NOT_EVALUATED
    )
    habitat = models.TextField(blank=True)
    distribution = models.TextField(blank=True)
    description = models.TextField(blank=True)
    is_published = models.BooleanField(default=False)
    taxon = models.ForeignKey(
        Taxon, null=True, blank=True, on_delete=models.PROTECT, related_name="organisms",
        help_text="The species (or lower) taxon this record is about.",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganismQuerySet.as_manager()
    history = revisions.history_records()

    PUBLIC_CONDITION = models.Q(is_published=True)

    class Meta:
        ordering = ["scientific_name"]
        indexes = [
            # The public list walks published rows in scientific-name order, optionally within a rank.
            models.Index(fields=["is_published", "scientific_name"], name="organism_pub_sci"),
            models.Index(fields=["kingdom", "scientific_name"], name="organism_kingdom_sci"),
            models.Index(fields=["phylum", "scientific_name"], name="organism_phylum_sci"),
            models.Index(fields=["class_name", "scientific_name"], name="organism_class_sci"),
            models.Index(fields=["order_name", "scientific_name"], name="organism_order_sci"),
            models.Index(fields=["family", "scientific_name"], name="organism_family_sci"),
            models.Index(fields=["genus", "scientific_name"], name="organism_genus_sci"),
            models.Index(fields=["conservation_status", "scientific_name"], name="organism_status_sci"),
            models.Index(Upper("common_name"), name="organism_common_upper"),
            models.Index(Upper("scientific_name"), name="organism_sci_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.common_name} ({self.scientific_name})"

    def get_absolute_url(self) -> str:
        return reverse("organism-detail", kwargs={"slug": self.slug})

    def shows_publicly(self) -> bool:
        return self.is_published


class OrganismImage(ProcessedImage):
    organism = models.ForeignKey(Organism, on_delete=models.CASCADE, related_name="images")
    caption = models.CharField(max_length=500, blank=True)
    credit = models.CharField(max_length=200, blank=True)
    licence = models.CharField(max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    history = revisions.history_records()

    class Meta:
        ordering = ["organism", "position", "id"]
        indexes = [models.Index(fields=["status", "updated_at"], name="organismimage_status")]

    def __str__(self) -> str:
        return self.alt_text or f"Image {self.pk} of {self.organism}"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "waiting to be checked"
    CHECKING = "checking", "being checked"
    CHECKED = "checked", "checked: see the preview"
    QUEUED = "queued", "waiting to be imported"
    IMPORTING = "importing", "being imported"
    DONE = "done", "done"
    FAILED = "failed", "failed"


def _checklist_upload_name(instance: "ChecklistImport", filename: str) -> str:
    """Stored under a generated name, never the uploaded one (which the row keeps to show)."""
    suffix = PurePath(filename).suffix.lower()[:5]
    return f"imports/{secrets.token_hex(16)}{suffix}"


class ChecklistImport(models.Model):
    """A checklist a curator uploaded in the admin: checked first (a dry run, whose report is the preview), then
    imported when the curator confirms. The row is the jobs' truth; progress is in a file beside the upload."""

    file = models.FileField(upload_to=_checklist_upload_name, max_length=200)
    original_name = models.CharField(max_length=200)
    skip_invalid = models.BooleanField(default=False, help_text="Import the usable rows and list the others.")
    prune = models.BooleanField(
        default=False, help_text="Withdraw (unpublish, never delete) the published organisms the file does not have."
    )
    publish = models.BooleanField(default=True, help_text="Publish the organisms the import creates.")
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    preview = models.JSONField(null=True, blank=True, editable=False)
    report = models.JSONField(null=True, blank=True, editable=False)
    error = models.TextField(blank=True, editable=False)
    job_id = models.CharField(max_length=64, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "updated_at"], name="checklistimport_status")]
        verbose_name = "checklist import"

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"
