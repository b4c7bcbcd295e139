"""Bulk writes the demo loaders share: records into the tree, vernacular names and synonyms added to taxa.

Each adds only what is missing, so a loader can run again and change nothing. Rows are created with
bulk_create (never a queryset update of a name), so whatever the models fill in on creation is filled in.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from ..models import Taxon, TaxonomicStatus, TaxonRank, VernacularName
from ..services import place_in_tree

INSERT_BATCH = 2000


@dataclass(frozen=True)
class Name:
    """A vernacular name a taxon should have."""

    taxon_id: int
    language: str
    name: str
    region: str = ""


@dataclass(frozen=True)
class Synonym:
    """A synonym a taxon should have."""

    accepted_id: int
    scientific_name: str
    authorship: str = ""

    @property
    def rank(self) -> str:
        return TaxonRank.SUBSPECIES if len(self.scientific_name.split()) >= 3 else TaxonRank.SPECIES


def place_unplaced(organisms: QuerySet, batch_size: int = 2000) -> None:
    """Records loaded in bulk (no service call) into the taxon tree, a batch at a time."""
    while batch := list(organisms.filter(taxon__isnull=True).order_by("pk")[:batch_size]):
        place_in_tree(batch)


def add_vernacular_names(names: Iterable[Name]) -> int:
    """Give the taxa the names they lack; returns how many were created.

    The first name of a language becomes the preferred one only where the taxon has no preferred name in that
    language yet: a curator's choice stays, and so does the English common name place_in_tree prefers.
    """
    names = list(dict.fromkeys(names))
    taxon_ids = {name.taxon_id for name in names}
    existing = VernacularName.objects.filter(taxon_id__in=taxon_ids).values_list("taxon_id", "language", "name")
    present = set(existing)
    preferred = set(
        VernacularName.objects.filter(taxon_id__in=taxon_ids, preferred=True).values_list("taxon_id", "language")
    )
    created, promoted = [], []
    for name in names:
        key = (name.taxon_id, name.language)
        becomes_preferred = key not in preferred
        preferred.add(key)
        if (*key, name.name) in present:
            if becomes_preferred:
                promoted.append((*key, name.name))
            continue
        present.add((*key, name.name))
        created.append(
            VernacularName(
                taxon_id=name.taxon_id,
                language=name.language,
                name=name.name,
                region=name.region,
                preferred=becomes_preferred,
            )  # fmt: skip
        )
    VernacularName.objects.bulk_create(created, batch_size=INSERT_BATCH)
    for taxon_id, language, name in promoted:  # rare: a name that was there, in a language with no preferred one
        VernacularName.objects.filter(taxon_id=taxon_id, language=language, name=name).update(preferred=True)
    return len(created)


def add_synonyms(synonyms: Iterable[Synonym]) -> int:
    """Give the taxa the synonyms they lack (outside the tree: no parent, no path); returns how many were created."""
    synonyms = list(dict.fromkeys(synonyms))
    existing = Taxon.objects.filter(
        status=TaxonomicStatus.SYNONYM, accepted_id__in={synonym.accepted_id for synonym in synonyms}
    ).values_list("accepted_id", "scientific_name")
    present = set(existing)
    missing = [synonym for synonym in synonyms if (synonym.accepted_id, synonym.scientific_name) not in present]
    Taxon.objects.bulk_create(
        [
            Taxon(
                status=TaxonomicStatus.SYNONYM,
                accepted_id=synonym.accepted_id,
                parent=None,
                path="",
                depth=0,
                rank=synonym.rank,
                scientific_name=synonym.scientific_name,
                authorship=synonym.authorship,
            )  # fmt: skip
            for synonym in missing
        ],
        batch_size=INSERT_BATCH,
    )
    return len(missing)
