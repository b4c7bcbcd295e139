"""Synthetic bulk records for load testing."""

import random

from django.utils.text import slugify

from ..models import Organism
from .taxonomy import place_unplaced

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
    place_unplaced(synthetic)
    return synthetic.count() - existing
