"""The real demo species (demo_data/organisms.json) and their taxonomy (demo_data/taxonomy.toml): authorship,
vernacular names by language and synonyms, as checklists give them."""

import json
import tomllib
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from biomuseum.pagecache import content_changed

from ..models import CURATED_FIELDS, Organism, Taxon, public_name
from .taxonomy import Name, Synonym, add_synonyms, add_vernacular_names, place_unplaced

DEMO_DATA = Path(__file__).resolve().parent.parent / "demo_data"
ORGANISMS_FILE = DEMO_DATA / "organisms.json"
TAXONOMY_FILE = DEMO_DATA / "taxonomy.toml"


def demo_records() -> list[dict]:
    return json.loads(ORGANISMS_FILE.read_text())


def demo_taxonomy() -> dict[str, dict]:
    """{scientific name: {"authorship", "synonyms", "names": {language tag: [name or {name, region}]}}}."""
    with TAXONOMY_FILE.open("rb") as file:
        return tomllib.load(file)


@transaction.atomic
def load_organisms() -> int:
    """The real species with their taxonomy; running it again changes nothing. Returns how many were created.

    A species already there keeps what curators gave it: its fields, an authorship, a preferred name.
    """
    created = _create_missing(demo_records())
    place_unplaced(Organism.objects.all())
    _apply_taxonomy(demo_taxonomy())
    return created


def _create_missing(records: list[dict]) -> int:
    present = set(
        Organism.objects.filter(scientific_name__in=[record["scientific_name"] for record in records]).values_list(
            "scientific_name", flat=True
        )
    )
    missing = [
        Organism(
            **{name: record[public_name(name)] for name in CURATED_FIELDS},
            is_published=True,
            slug=slugify(record["scientific_name"]),
        )
        for record in records
        if record["scientific_name"] not in present
    ]
    Organism.objects.bulk_create(missing)
    return len(missing)


def _apply_taxonomy(taxonomy: dict[str, dict]) -> None:
    """Authorship where a species has none, and the vernacular names and synonyms it lacks."""
    species = {
        organism.scientific_name: organism.taxon
        for organism in Organism.objects.filter(scientific_name__in=taxonomy, taxon__isnull=False).select_related(
            "taxon"
        )
    }
    unauthored = []
    for scientific_name, taxon in species.items():
        if not taxon.authorship and taxonomy[scientific_name].get("authorship"):
            taxon.authorship, taxon.updated_at = taxonomy[scientific_name]["authorship"], timezone.now()
            unauthored.append(taxon)
    Taxon.objects.bulk_update(unauthored, ["authorship", "updated_at"])
    names = [
        Name(taxon.pk, language, *_name_and_region(entry))
        for scientific_name, taxon in species.items()
        for language, entries in taxonomy[scientific_name].get("names", {}).items()
        for entry in entries
    ]
    synonyms = [
        Synonym(taxon.pk, synonym["name"], synonym.get("authorship", ""))
        for scientific_name, taxon in species.items()
        for synonym in taxonomy[scientific_name].get("synonyms", [])
    ]
    added = add_vernacular_names(names) + add_synonyms(synonyms)
    if unauthored or added:
        content_changed("organisms")  # bulk writes send no signals


def _name_and_region(entry: str | dict) -> tuple[str, str]:
    return (entry, "") if isinstance(entry, str) else (entry["name"], entry.get("region", ""))
