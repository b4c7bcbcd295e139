from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse

from biomuseum.images import ProcessedImage
from biomuseum.publicstate import PublicState


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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganismQuerySet.as_manager()

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

    class Meta:
        ordering = ["organism", "position", "id"]
        indexes = [models.Index(fields=["status", "updated_at"], name="organismimage_status")]

    def __str__(self) -> str:
        return self.alt_text or f"Image {self.pk} of {self.organism}"
