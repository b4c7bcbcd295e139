"""Reads of the catalogue. Each returns a queryset already shaped for its caller."""

from django.db import connection
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Collate, Upper

from biomuseum.images import ImageStatus

from . import related
from .models import TAXONOMY_RANKS, Organism, OrganismImage, Taxon, TaxonomicStatus, VernacularName

LIST_FIELDS = (
    "id",
    "slug",
    "common_name",
    "scientific_name",
    "kingdom",
    "class_name",
    "conservation_status",
)


def _ready_images() -> Prefetch:
    return Prefetch(
        "images", queryset=OrganismImage.objects.filter(status=ImageStatus.READY).order_by("position", "id")
    )


def organism_list(*, filters: dict | None = None, search: str = "", include_unpublished: bool = False) -> QuerySet:
    """Published organisms for the public list: lean columns, the first ready image prefetched."""
    queryset = Organism.objects.all() if include_unpublished else Organism.objects.published()
    for model_field, public_name in TAXONOMY_RANKS.items():
        value = (filters or {}).get(public_name)
        if value:
            queryset = queryset.filter(**{f"{model_field}__iexact": value})
    status = (filters or {}).get("conservation_status")
    if status:
        queryset = queryset.filter(conservation_status__in=status)
    if search:
        queryset = queryset.filter(Q(common_name__icontains=search) | Q(scientific_name__icontains=search))
    taxon = (filters or {}).get("taxon")
    if taxon:
        path = Taxon.objects.filter(pk=taxon).values_list("path", flat=True).first()
        queryset = queryset.filter(taxon__path__startswith=path) if path else queryset.none()
    return queryset.only(*LIST_FIELDS).prefetch_related(_ready_images())


def organism_detail_queryset(*, include_unpublished: bool = False) -> QuerySet:
    """Everything the detail page shows: ready images and the content registered in organisms.related, one query
    each."""
    queryset = Organism.objects.all() if include_unpublished else Organism.objects.published()
    return queryset.prefetch_related(_ready_images(), *related.prefetches())


def organism_autocomplete(*, query: str, limit: int = 10) -> list[Organism]:
    """Suggestions for a search box: exact matches first, then prefixes, then word starts."""
    published = Organism.objects.published().only("id", "slug", "common_name", "scientific_name")
    if connection.vendor != "postgresql":
        return _autocomplete_ranked(published, query, limit)
    return _autocomplete_by_tier(published, query, limit)


def _autocomplete_ranked(published: QuerySet, query: str, limit: int) -> list[Organism]:
    """The portable form: one query ranks every match (fine for a catalogue of thousands, not of 100k)."""
    rank = Case(
        When(Q(common_name__iexact=query) | Q(scientific_name__iexact=query), then=Value(0)),
        When(Q(common_name__istartswith=query) | Q(scientific_name__istartswith=query), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    matches = (
        published.filter(
            Q(common_name__istartswith=query)
            | Q(scientific_name__istartswith=query)
            | Q(common_name__icontains=f" {query}")
            | Q(scientific_name__icontains=f" {query}")
        )
        .annotate(rank=rank)
        .order_by("rank", "scientific_name")
    )
    return list(matches[:limit])


def upper_as_postgresql(text: str) -> str:
    """`text` upper-cased character by character, as PostgreSQL's UPPER() does: Python's `upper()` also applies
    special mappings that change length ("ß" -> "SS", "ﬁ" -> "FI"), which UPPER() leaves as they are, so a
    prefix folded by Python would never match the index's key."""
    return "".join(upper if len(upper := char.upper()) == 1 else char for char in text)


def _autocomplete_by_tier(published: QuerySet, query: str, limit: int) -> list[Organism]:
    """PostgreSQL: each tier reads at most `limit` rows from an index, and the next runs only if needed.

    Ranking every match first took 40 ms for a two-letter prefix on 100k organisms (thousands of matches);
    exact names come from the UPPER indexes, prefixes from the "C"-collated ones (migration 0004), in order
    of the matched name, and word starts (trigram indexes) only when fewer than `limit` came before.
    """
    found: dict[int, Organism] = {}

    def take(rows) -> None:
        for row in rows:
            if len(found) < limit:
                found.setdefault(row.pk, row)

    exact = Q(common_name__iexact=query) | Q(scientific_name__iexact=query)
    take(published.filter(exact).order_by("scientific_name", "pk")[:limit])
    if len(found) < limit:
        wanted = limit + len(found)  # the rows already found match these tiers too
        prefixed = []
        for field in ("common_name", "scientific_name"):
            key = Collate(Upper(field), "C")
            rows = published.annotate(prefix_key=key).filter(prefix_key__startswith=upper_as_postgresql(query))
            prefixed += rows.order_by("prefix_key", "pk")[:wanted]
        take(sorted(prefixed, key=lambda row: (row.prefix_key, row.pk)))
    if len(found) < limit:
        word_start = Q(common_name__icontains=f" {query}") | Q(scientific_name__icontains=f" {query}")
        take(published.filter(word_start).order_by("scientific_name", "pk")[: limit + len(found)])
    return list(found.values())


# --- the taxon tree ---


def taxon_list(*, filters: dict) -> QuerySet:
    """Accepted taxa (synonyms too when searching by name), by rank, parent or part of a name: scientific, or
    vernacular in any language."""
    queryset = Taxon.objects.all()
    if filters.get("q"):
        named = VernacularName.objects.filter(name__icontains=filters["q"]).values("taxon_id")
        queryset = queryset.filter(Q(scientific_name__icontains=filters["q"]) | Q(pk__in=named))
    else:
        queryset = queryset.filter(status=TaxonomicStatus.ACCEPTED)
    if filters.get("rank"):
        queryset = queryset.filter(rank=filters["rank"])
    if filters.get("parent"):
        queryset = queryset.filter(parent_id=filters["parent"])
    return queryset.only("id", "rank", "scientific_name", "authorship", "status", "parent_id")


def taxon_detail_queryset() -> QuerySet:
    return Taxon.objects.select_related("parent", "accepted").prefetch_related(
        Prefetch("synonyms", queryset=Taxon.objects.order_by("scientific_name")),
        "vernacular_names",
    )


def with_tree_facts(taxon: Taxon) -> Taxon:
    """The taxon with its ancestors (kingdom first), its number of children and of published organisms
    beneath it at any depth: three indexed queries whatever the depth."""
    ancestors = Taxon.objects.in_bulk(taxon.ancestor_ids)
    taxon.ancestors = [ancestors[pk] for pk in taxon.ancestor_ids if pk in ancestors]
    taxon.children_count = Taxon.objects.filter(parent=taxon).count()
    taxon.organism_count = (
        Organism.objects.published().filter(taxon__path__startswith=taxon.path).count() if taxon.path else 0
    )
    return taxon
