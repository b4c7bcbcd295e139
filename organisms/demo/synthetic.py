"""Synthetic bulk records for load testing, in the shape of a real checklist.

A few kingdoms, real phyla, classes and orders weighted as described species are (beetles and flies by the
ten thousand, turtles by the dozen), many generated families, and genera whose sizes follow a long tail from
1 to 50 species, as in nature: most genera hold one or two species, a few hold dozens. Each species has an
English common name (numbered, so a search can find exactly one) and one to three names in French, Spanish,
German or Portuguese; one in fifty has a synonym, as if it had been moved from another genus. The same seed
gives the same records, so a larger target extends a smaller one.
"""

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

from ..models import ConservationStatus, Organism, Taxon
from .taxonomy import Name, Synonym, add_synonyms, add_vernacular_names, place_unplaced

SYNTHETIC_PREFIX = "synthetic-"
SEED = 20261123
MAX_GENUS_SIZE = 50
GENUS_SIZE_TAIL = 0.9  # the Pareto shape of genus sizes: about half the genera have one species
NEW_FAMILY_CHANCE = 0.12  # per genus: about eight genera a family
SYNONYM_CHANCE = 0.02
OTHER_LANGUAGES = ("fr", "es", "de", "pt")
OTHER_LANGUAGE_COUNTS = (1, 2, 2, 3)  # besides English: 2 to 4 names a species, 3 on average


@dataclass(frozen=True)
class Order:
    kingdom: str
    phylum: str
    class_name: str
    order_name: str
    weight: int  # relative number of species
    nouns: dict[str, str]  # what its species are called, by language


def _order(lineage: str, weight: int, nouns: str) -> Order:
    """`lineage`: kingdom, phylum, class and order; `nouns`: what its species are called in en, fr, es, de, pt."""
    kingdom, phylum, class_name, order_name = lineage.split()
    return Order(kingdom, phylum, class_name, order_name, weight, dict(zip(LANGUAGES, nouns.split(), strict=True)))


LANGUAGES = ("en", *OTHER_LANGUAGES)
ORDERS = [
    _order("Animalia Chordata Mammalia Rodentia", 25, "mouse Souris Ratón Maus Rato"),
    _order("Animalia Chordata Mammalia Chiroptera", 14, "bat Chauve-souris Murciélago Fledermaus Morcego"),
    _order("Animalia Chordata Mammalia Eulipotyphla", 5, "shrew Musaraigne Musaraña Spitzmaus Musaranho"),
    _order("Animalia Chordata Mammalia Carnivora", 3, "weasel Belette Comadreja Wiesel Doninha"),
    _order("Animalia Chordata Mammalia Primates", 5, "monkey Singe Mono Affe Macaco"),
    _order("Animalia Chordata Aves Passeriformes", 60, "finch Pinson Pinzón Fink Tentilhão"),
    _order("Animalia Chordata Aves Psittaciformes", 4, "parrot Perroquet Loro Papagei Papagaio"),
    _order("Animalia Chordata Aves Apodiformes", 5, "hummingbird Colibri Colibrí Kolibri Beija-flor"),
    _order("Animalia Chordata Reptilia Squamata", 50, "lizard Lézard Lagarto Eidechse Lagarto"),
    _order("Animalia Chordata Reptilia Testudines", 2, "turtle Tortue Tortuga Schildkröte Tartaruga"),
    _order("Animalia Chordata Amphibia Anura", 35, "frog Grenouille Rana Frosch Rã"),
    _order("Animalia Chordata Amphibia Caudata", 4, "salamander Salamandre Salamandra Salamander Salamandra"),
    _order("Animalia Chordata Actinopterygii Perciformes", 40, "perch Perche Perca Barsch Perca"),
    _order("Animalia Chordata Actinopterygii Cypriniformes", 30, "carp Carpe Carpa Karpfen Carpa"),
    _order("Animalia Chordata Actinopterygii Siluriformes", 25, "catfish Poisson-chat Bagre Wels Bagre"),
    _order("Animalia Arthropoda Insecta Coleoptera", 350, "beetle Scarabée Escarabajo Käfer Besouro"),
    _order("Animalia Arthropoda Insecta Lepidoptera", 160, "butterfly Papillon Mariposa Schmetterling Borboleta"),
    _order("Animalia Arthropoda Insecta Hymenoptera", 150, "wasp Guêpe Avispa Wespe Vespa"),
    _order("Animalia Arthropoda Insecta Diptera", 150, "fly Mouche Mosca Fliege Mosca"),
    _order("Animalia Arthropoda Insecta Hemiptera", 100, "bug Punaise Chinche Wanze Percevejo"),
    _order("Animalia Arthropoda Arachnida Araneae", 50, "spider Araignée Araña Spinne Aranha"),
    _order("Animalia Arthropoda Malacostraca Decapoda", 15, "crab Crabe Cangrejo Krabbe Caranguejo"),
    _order("Animalia Mollusca Gastropoda Stylommatophora", 30, "snail Escargot Caracol Schnecke Caracol"),
    _order("Animalia Mollusca Bivalvia Unionida", 8, "mussel Moule Mejillón Muschel Mexilhão"),
    _order("Animalia Cnidaria Anthozoa Scleractinia", 15, "coral Corail Coral Koralle Coral"),
    _order("Plantae Tracheophyta Magnoliopsida Asterales", 70, "daisy Marguerite Margarita Gänseblümchen Margarida"),
    _order("Plantae Tracheophyta Magnoliopsida Fabales", 50, "pea Pois Guisante Erbse Ervilha"),
    _order("Plantae Tracheophyta Magnoliopsida Lamiales", 50, "sage Sauge Salvia Salbei Sálvia"),
    _order("Plantae Tracheophyta Magnoliopsida Rosales", 30, "rose Rosier Rosal Rose Roseira"),
    _order("Plantae Tracheophyta Magnoliopsida Ericales", 20, "heath Bruyère Brezo Heide Urze"),
    _order("Plantae Tracheophyta Liliopsida Asparagales", 60, "orchid Orchidée Orquídea Orchidee Orquídea"),
    _order("Plantae Tracheophyta Liliopsida Poales", 40, "grass Herbe Hierba Gras Capim"),
    _order("Plantae Tracheophyta Polypodiopsida Polypodiales", 20, "fern Fougère Helecho Farn Samambaia"),
    _order("Plantae Tracheophyta Pinopsida Pinales", 6, "pine Pin Pino Kiefer Pinheiro"),
    _order("Plantae Bryophyta Bryopsida Hypnales", 20, "moss Mousse Musgo Moos Musgo"),
    _order("Fungi Basidiomycota Agaricomycetes Agaricales", 70, "mushroom Champignon Seta Pilz Cogumelo"),
    _order("Fungi Basidiomycota Agaricomycetes Boletales", 10, "bolete Bolet Boleto Röhrling Boleto"),
    _order("Fungi Basidiomycota Agaricomycetes Polyporales", 10, "bracket Polypore Políporo Porling Políporo"),
    _order("Fungi Ascomycota Lecanoromycetes Lecanorales", 30, "lichen Lichen Liquen Flechte Líquen"),
    _order("Fungi Ascomycota Pezizomycetes Pezizales", 10, "truffle Truffe Trufa Trüffel Trufa"),
    _order("Chromista Ochrophyta Phaeophyceae Fucales", 10, "wrack Fucus Fuco Tang Fuco"),
]
# fmt: off
EPITHETS = [
    "alpinus", "americanus", "arboreus", "argenteus", "asiaticus", "aureus", "australis", "borealis", "brevis",
    "caeruleus", "campestris", "carolinensis", "communis", "elegans", "fasciatus", "flavus", "fuscus",
    "gracilis", "grandis", "hirsutus", "humilis", "insularis", "japonicus", "lacustris", "latifolius",
    "longicaudus", "maculatus", "major", "maritimus", "mexicanus", "minor", "montanus", "nanus", "niger",
    "nitidus", "occidentalis", "orientalis", "palustris", "pictus", "pilosus", "pratensis", "pusillus",
    "robustus", "ruber", "rufus", "rupestris", "saxatilis", "silvestris", "sinensis", "splendens", "striatus",
    "sylvaticus", "tenuis", "tropicalis", "undulatus", "variegatus", "velutinus", "viridis", "vulgaris",
    "zonatus",
]
ADJECTIVES = ["lesser", "greater", "spotted", "banded", "pale", "dusky", "northern", "southern", "alpine", "coastal"]
# Naturalists species are named after: the same in every language.
PEOPLE = [
    "Agassiz", "Audubon", "Banks", "Bates", "Blyth", "Bonaparte", "Bonpland", "Boulenger", "Cope", "Cuvier",
    "Darwin", "Eschscholtz", "Forster", "Gould", "Gray", "Günther", "Hodgson", "Hooker", "Horsfield",
    "Humboldt", "Jerdon", "Lamarck", "Lesson", "Merian", "Natterer", "Pallas", "Peters", "Raffles", "Sclater",
    "Sloane", "Spix", "Steller", "Swainson", "Temminck", "Verreaux", "Wallace",
]
SYLLABLES = ["ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "xo", "zu", "ka", "le", "mi",
             "no", "pu"]
# fmt: on
GENUS_ENDINGS = ("us", "a", "ia", "ella", "odon", "opsis", "ium", "ites")  # after a stem of syllables: no two alike
STEM_OFFSET = 400  # stems of at least three syllables
SYNONYM_GENERA = 1_000_000  # synonyms' genera are numbered apart from the accepted ones
STATUSES = ConservationStatus.values
DELETE_BATCH = 5000


def _latinish(number: int) -> str:
    letters = []
    while True:
        number, digit = divmod(number, len(SYLLABLES))
        letters.append(SYLLABLES[digit])
        if not number:
            return "".join(letters)


def _genus_name(number: int) -> str:
    stem, ending = divmod(number, len(GENUS_ENDINGS))
    return _latinish(stem + STEM_OFFSET).capitalize() + GENUS_ENDINGS[ending]


def _family_name(number: int, kingdom: str) -> str:
    return _latinish(number + STEM_OFFSET).capitalize() + ("idae" if kingdom == "Animalia" else "aceae")


def _vernacular(language: str, noun: str, person: str) -> str:
    """A species named after a naturalist, as each language forms it: Scarabée de Darwin, Darwin-Käfer."""
    if language == "de":
        return f"{person}-{noun}"
    if language == "pt":
        return f"{noun}-de-{person.lower()}"
    if language == "fr" and person[0] in "AEIOU":
        return f"{noun} d'{person}"
    return f"{noun} de {person}"


@dataclass(frozen=True)
class SyntheticSpecies:
    index: int
    order: Order
    family: str
    genus: str
    epithet: str
    adjective: str
    person: str
    languages: tuple[str, ...]  # besides English
    synonym_genus: str | None
    conservation_status: str

    @property
    def scientific_name(self) -> str:
        return f"{self.genus} {self.epithet}"

    @property
    def slug(self) -> str:
        return f"{SYNTHETIC_PREFIX}{slugify(self.scientific_name)}"

    def organism(self) -> Organism:
        return Organism(
            slug=self.slug,
            common_name=f"{self.adjective.capitalize()} {self.order.nouns['en']} {self.index}",
            scientific_name=self.scientific_name,
            kingdom=self.order.kingdom,
            phylum=self.order.phylum,
            class_name=self.order.class_name,
            order_name=self.order.order_name,
            family=self.family,
            genus=self.genus,
            conservation_status=self.conservation_status,
            habitat="Generated for load testing.",
            distribution="Nowhere: a synthetic record.",
            description="A synthetic record generated to measure the catalogue at scale.",
            is_published=True,
        )

    def names(self, taxon_id: int) -> list[Name]:
        """Its names besides the English common name (which place_in_tree gives the taxon)."""
        nouns = self.order.nouns
        return [Name(taxon_id, lang, _vernacular(lang, nouns[lang], self.person)) for lang in self.languages]

    def synonyms(self, taxon_id: int) -> list[Synonym]:
        return [Synonym(taxon_id, f"{self.synonym_genus} {self.epithet}")] if self.synonym_genus else []


def synthetic_plan() -> Iterator[SyntheticSpecies]:
    """Every synthetic species in order, genus after genus, without end; the same sequence on every call."""
    rng = random.Random(SEED)
    weights = [order.weight for order in ORDERS]
    families: dict[str, list[str]] = {order.order_name: [] for order in ORDERS}
    index = family_number = 0
    for genus_number in itertools.count():
        order = rng.choices(ORDERS, weights)[0]
        known = families[order.order_name]
        if not known or rng.random() < NEW_FAMILY_CHANCE:
            known.append(_family_name(family_number, order.kingdom))
            family_number += 1
        family = rng.choice(known)
        size = min(MAX_GENUS_SIZE, int(rng.paretovariate(GENUS_SIZE_TAIL)))
        for epithet in rng.sample(EPITHETS, size):
            others = rng.sample(OTHER_LANGUAGES, rng.choice(OTHER_LANGUAGE_COUNTS))
            moved = rng.random() < SYNONYM_CHANCE
            yield SyntheticSpecies(
                index=index,
                order=order,
                family=family,
                genus=_genus_name(genus_number),
                epithet=epithet,
                adjective=rng.choice(ADJECTIVES),
                person=rng.choice(PEOPLE),
                languages=tuple(others),
                synonym_genus=_genus_name(SYNONYM_GENERA + genus_number) if moved else None,
                conservation_status=rng.choice(STATUSES),
            )
            index += 1


def synthetic_organisms(count: int, batch_size: int = 5000) -> int:
    """Top the synthetic records up to `count` (the first `count` of the plan); returns how many were created."""
    synthetic = Organism.objects.filter(slug__startswith=SYNTHETIC_PREFIX)
    existing = synthetic.count()
    plan = itertools.islice(synthetic_plan(), existing, max(existing, count))
    while batch := list(itertools.islice(plan, batch_size)):
        _add(batch)
    place_unplaced(synthetic)
    return synthetic.count() - existing


@transaction.atomic
def _add(batch: list[SyntheticSpecies]) -> None:
    """One batch, whole or not at all: the records, their place in the tree, their other names, synonyms."""
    Organism.objects.bulk_create([species.organism() for species in batch], ignore_conflicts=True)
    added = Organism.objects.filter(slug__in=[species.slug for species in batch])
    place_unplaced(added)
    taxa = dict(added.values_list("slug", "taxon_id"))
    add_vernacular_names(name for species in batch for name in species.names(taxa[species.slug]))
    add_synonyms(synonym for species in batch for synonym in species.synonyms(taxa[species.slug]))


@transaction.atomic
def delete_synthetic_organisms() -> int:
    """Remove the synthetic records and the taxa only they used (with those taxa's names and synonyms);
    every other organism keeps its lineage. Returns how many records were removed."""
    synthetic = Organism.objects.filter(slug__startswith=SYNTHETIC_PREFIX)
    orphaned = _lineage(synthetic) - _lineage(Organism.objects.exclude(slug__startswith=SYNTHETIC_PREFIX))
    removed = synthetic.count()
    synthetic.delete()
    for _, level in itertools.groupby(sorted(orphaned, reverse=True), key=lambda taxon: taxon[0]):
        ids = [pk for _, pk in level]  # the deepest first: a taxon's children go before it
        for start in range(0, len(ids), DELETE_BATCH):
            Taxon.objects.filter(pk__in=ids[start : start + DELETE_BATCH]).delete()
    return removed


def _lineage(organisms) -> set[tuple[int, int]]:
    """(depth, id) of the organisms' taxa and of every ancestor, read from their paths."""
    paths = organisms.exclude(taxon__isnull=True).values_list("taxon__path", flat=True)
    return {
        (depth, int(pk))
        for path in paths.iterator(chunk_size=DELETE_BATCH)
        for depth, pk in enumerate(path.strip("/").split("/"))
        if pk
    }
