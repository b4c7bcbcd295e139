"""Reads of the catalogue. Each returns a queryset already shaped for its caller."""

from django.db.models import Prefetch, Q, QuerySet

from biomuseum.textfold import fold

from . import related
from . import search as names
from .models import TAXONOMY_RANKS, Organism, OrganismImage, Taxon, TaxonomicStatus, VernacularName

TAXON_SUMMARY_FIELDS = ("id", "rank", "scientific_name", "authorship")
LIST_FIELDS = (
    "id",
    "slug",
    "common_name",
    "scientific_name",
    "kingdom",
    "class_name",
    "conservation_status",
    "taxon_id",  # its common names in other languages
)


def _ready_images() -> Prefetch:
    # Ready and described (alt text): what the public may see of a photograph.
    return Prefetch(
        "images", queryset=OrganismImage.objects.filter(OrganismImage.PUBLIC_CONDITION).order_by("position", "id")
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
        queryset = queryset.filter(names.organisms_named(search))
    taxon = (filters or {}).get("taxon")
    if taxon:
        path = Taxon.objects.filter(pk=taxon).values_list("path", flat=True).first()
        queryset = queryset.filter(_beneath(path)) if path else queryset.none()
    return queryset.only(*LIST_FIELDS).prefetch_related(_ready_images())


SUBTREE_PROBE = 2000  # taxa of a subtree read up front; a larger one is filtered through the join


def _beneath(path: str) -> Q:
    """Organisms at or beneath the taxon at `path`. A small subtree (a genus, a family, most orders) becomes the
    list of its taxon ids, and the page is their organisms, sorted: under a millisecond. Filtered through the
    join instead, PostgreSQL may walk every published organism in name order, looking up each one's taxon,
    when it expects the subtree's organisms spread through the alphabet; they are not (a genus's species share
    its name), so the walk can read tens of thousands of rows for one page (27 ms for a family of 301). A large
    subtree (a kingdom) holds most organisms, and that walk finds a page in its first rows."""
    subtree = Taxon.objects.filter(path__startswith=path).order_by().values_list("pk", flat=True)
    ids = list(subtree[: SUBTREE_PROBE + 1])
    return Q(taxon_id__in=ids) if len(ids) <= SUBTREE_PROBE else Q(taxon__path__startswith=path)


def organism_detail_queryset(*, include_unpublished: bool = False) -> QuerySet:
    """Everything the detail page shows: ready images and the content registered in organisms.related, one query
    each."""
    queryset = Organism.objects.all() if include_unpublished else Organism.objects.published()
    return queryset.prefetch_related(_ready_images(), *related.prefetches())


def organism_by_synonym(slug: str) -> Organism | None:
    """The published organism of the accepted taxon a synonym leads to, the synonym named by its slug
    (`felis-concolor` -> Puma concolor): slugs fold like names (hyphens are word breaks)."""
    accepted = Taxon.objects.filter(status=TaxonomicStatus.SYNONYM, search_name=fold(slug)).values("accepted_id")
    return Organism.objects.published().filter(taxon_id__in=accepted).only("slug").order_by("pk").first()


def organism_autocomplete(*, query: str, limit: int = 10) -> list[Organism]:
    """Suggestions for a search box, by any name of the species (organisms/search.py): exact matches first, then
    prefixes, then word starts; each with the `matched_name`."""
    return names.suggest(names.published_organisms(), names.ORGANISM_NAMES, query, limit)


def taxon_autocomplete(*, query: str, limit: int = 10) -> list[Taxon]:
    """The same for the tree: accepted taxa of any rank, found by their own, their synonyms' or their
    vernacular names."""
    accepted = Taxon.objects.filter(status=TaxonomicStatus.ACCEPTED).only(*TAXON_SUMMARY_FIELDS)
    return names.suggest(accepted, names.TAXON_NAMES, query, limit)


# --- the taxon tree ---


def taxon_list(*, filters: dict) -> QuerySet:
    """Accepted taxa (synonyms too when searching by name), by rank, parent or part of a name: scientific, or
    vernacular in any language."""
    queryset = Taxon.objects.all()
    if filters.get("q"):
        queryset = queryset.filter(names.taxa_named(filters["q"]))
    else:
        queryset = queryset.filter(status=TaxonomicStatus.ACCEPTED)
    if filters.get("rank"):
        queryset = queryset.filter(rank=filters["rank"])
    if filters.get("parent"):
        queryset = queryset.filter(parent_id=filters["parent"])
    return queryset.only(*TAXON_SUMMARY_FIELDS, "status", "parent_id")


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


def vernacular_names(taxon_ids, languages: tuple[str, ...] | None = None) -> dict[int, list[VernacularName]]:
    """The vernacular names of these taxa ({taxon id: names}), in `languages` only when given: one query."""
    names = VernacularName.objects.filter(taxon_id__in=set(taxon_ids))
    if languages is not None:
        names = names.filter(language__in=languages)
    by_taxon: dict[int, list[VernacularName]] = {}
    for name in names.order_by("language", "-preferred", "name"):
        by_taxon.setdefault(name.taxon_id, []).append(name)
    return by_taxon


def best_names(names: dict[int, list[VernacularName]], chain: tuple[str, ...]) -> dict[int, str]:
    """Each taxon's name in the first language of `chain` it has one in, the preferred one first."""
    order = {language: position for position, language in enumerate(chain)}
    best = {}
    for taxon_id, candidates in names.items():
        ranked = sorted(
            (order[name.language], not name.preferred, name.name) for name in candidates if name.language in order
        )
        if ranked:
            best[taxon_id] = ranked[0][2]
    return best


def common_names(taxon_ids, chain: tuple[str, ...]) -> dict[int, str]:
    """{taxon id: its common name along `chain`} (biomuseum.languages), for a page of records."""
    return best_names(vernacular_names(taxon_ids, chain), chain) if taxon_ids else {}
