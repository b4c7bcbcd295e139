"""Demo and benchmark species: the real catalogue shipped in demo_data/, and synthetic bulk records."""

import json
import random
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from .models import CURATED_FIELDS, Organism, public_name
from .services import place_in_tree

ORGANISMS_FILE = Path(__file__).resolve().parent / "demo_data" / "organisms.json"

SYNTHETIC_LINEAGES = [
    ("Animalia", "Chordata", "Mammalia", "Rodentia", "Muridae"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Fringillidae"),
    ("Animalia", "Chordata", "Reptilia", "Squamata", "Lacertidae"),
    ("Animalia", "Chordata", "Amphibia", "Anura", "Hylidae"),
    ("Animalia", "Chordata", "Actinopterygii", "Cypriniformes", "Cyprinidae"),
    ("Animalia", "Arthropoda", "Insecta", "Coleoptera", "Carabidae"),
    ("Animalia", "Arthropoda", "Insecta", "Lepidoptera", "Nymphalidae"),
    ("Animalia", "Mollusca", "Gastropoda", "Stylommatophora", "Helicidae"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Asterales", "Asteraceae"),
    ("Plantae", "Tracheophyta", "Liliopsida", "Asparagales", "Orchidaceae"),
    ("Plantae", "Bryophyta", "Bryopsida", "Hypnales", "Hypnaceae"),
    ("Fungi", "Basidiomycota", "Agaricomycetes", "Agaricales", "Agaricaceae"),
    ("Fungi", "Ascomycota", "Lecanoromycetes", "Lecanorales", "Parmeliaceae"),
]
SYLLABLES = [
    "ba",
    "ce",
    "di",
    "fo",
    "gu",
    "la",
    "me",
    "ni",
    "po",
    "ru",
    "sa",
    "te",
    "vi",
    "xo",
    "zu",
    "ka",
    "le",
    "mi",
    "no",
    "pu",
]
ADJECTIVES = ["lesser", "greater", "spotted", "banded", "pale", "dusky", "northern", "southern", "alpine", "coastal"]
NOUNS = [
    "shrew",
    "finch",
    "lizard",
    "treefrog",
    "minnow",
    "beetle",
    "butterfly",
    "snail",
    "daisy",
    "orchid",
    "moss",
    "mushroom",
    "lichen",
]


def _latinish(number: int) -> str:
    letters = []
    while True:
        number, digit = divmod(number, len(SYLLABLES))
        letters.append(SYLLABLES[digit])
        if not number:
            return "".join(letters)


@transaction.atomic
def load_organisms() -> int:
    """The real species; running it again changes nothing. Returns how many were created."""
    created_organisms = 0
    for record in json.loads(ORGANISMS_FILE.read_text()):
        fields = {name: record[public_name(name)] for name in CURATED_FIELDS if name != "scientific_name"}
        _, created = Organism.objects.get_or_create(
            scientific_name=record["scientific_name"],
            defaults={**fields, "is_published": True, "slug": slugify(record["scientific_name"])},
        )
        created_organisms += created
    _place(Organism.objects.filter(taxon__isnull=True))
    return created_organisms


def _place(organisms, batch_size: int = 2000) -> None:
    """Records loaded in bulk (no service call) into the taxon tree, a batch at a time."""
    while batch := list(organisms.order_by("pk")[:batch_size]):
        place_in_tree(batch)


def synthetic_organisms(count: int, batch_size: int = 5000) -> int:
    """`count` generated records with unique names; already present ones are left alone."""
    rng = random.Random(20261123)
    statuses = [code for code, _ in Organism._meta.get_field("conservation_status").choices]
    synthetic = Organism.objects.filter(slug__startswith="synthetic-")
    existing = synthetic.count()
    for start in range(existing, count, batch_size):
        batch = []
        for index in range(start, min(start + batch_size, count)):
            kingdom, phylum, class_name, order_name, family = SYNTHETIC_LINEAGES[index % len(SYNTHETIC_LINEAGES)]
            genus = _latinish(index // 40 + 400).capitalize()
            scientific_name = f"{genus} {_latinish(index + 8000)}ensis"
            batch.append(
                Organism(
                    slug=f"synthetic-{slugify(scientific_name)}",
                    common_name=f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(NOUNS)} {index}",
                    scientific_name=scientific_name,
                    kingdom=kingdom,
                    phylum=phylum,
                    class_name=class_name,
                    order_name=order_name,
                    family=family,
                    genus=genus,
                    conservation_status=rng.choice(statuses),
                    habitat="Generated for load testing.",
                    distribution="Nowhere: a synthetic record.",
                    description="A synthetic record generated to measure the catalogue at scale.",
                    is_published=True,
                )
            )
        Organism.objects.bulk_create(batch, ignore_conflicts=True)
    _place(synthetic.filter(taxon__isnull=True))
    return synthetic.count() - existing
