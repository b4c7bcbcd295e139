"""The data migration into the taxon tree at the catalogue's size: 100,000 synthetic organisms, on whichever
database the suite runs against (SQLite, and PostgreSQL in CI's second pass)."""

import pytest
from django.db import connection
from django.utils import timezone

from organisms.models import Organism, Taxon, VernacularName
from tests.migrating import migrate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.integration,
    pytest.mark.usefixtures("migrations_restored"),
]

ROWS = 100_000
LINEAGES = [
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


def insert_rows(count: int) -> None:
    """Rows as they stood before the tree (no taxon), written with executemany: the ORM's bulk_create would
    spend most of this test compiling INSERTs."""
    now = timezone.now()
    rows = []
    for index in range(count):
        kingdom, phylum, class_name, order_name, family = LINEAGES[index % len(LINEAGES)]
        genus = f"Genus{index // 40}"
        name = f"{genus} species{index}"
        rows.append((f"s-{index}", f"Common {index}", name, kingdom, phylum, class_name, order_name, family, genus,
                     "NE", "", "", "", True, now, now))  # fmt: skip
    columns = ("slug", "common_name", "scientific_name", "kingdom", "phylum", "class_name", "order_name", "family",
               "genus", "conservation_status", "habitat", "distribution", "description", "is_published",
               "created_at", "updated_at")  # fmt: skip
    table = Organism._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})", rows
        )


def test_100k_organisms_move_into_the_tree_and_keep_everything():
    migrate(("organisms", "0005_taxon_tree"))  # the schema as it stood before the data migration
    insert_rows(ROWS)
    assert Organism.objects.count() == ROWS and Taxon.objects.count() == 0
    before = list(Organism.objects.order_by("pk").values_list("slug", "scientific_name", "genus", "family"))

    migrate(("organisms", "0006_organisms_into_the_tree"))
    migrate()  # the models below are today's

    assert Organism.objects.filter(taxon__isnull=True).count() == 0
    assert not VernacularName.objects.filter(search_name="").exists()  # folded by 0007, whatever their number
    assert Taxon.objects.get(scientific_name="Genus7 species300").search_name == "genus7 species300"
    assert list(Organism.objects.order_by("pk").values_list("slug", "scientific_name", "genus", "family")) == before
    assert VernacularName.objects.filter(language="en", preferred=True).count() == ROWS
    species = Taxon.objects.filter(rank="species")
    assert species.count() == ROWS
    # Every species sits under its own genus and family, whose paths its own extends.
    for organism in Organism.objects.select_related("taxon__parent__parent").order_by("?")[:200]:
        genus, family = organism.taxon.parent, organism.taxon.parent.parent
        assert (genus.rank, genus.scientific_name) == ("genus", organism.genus)
        assert (family.rank, family.scientific_name) == ("family", organism.family)
        assert organism.taxon.path == f"{genus.path}{organism.taxon.pk}/"
    families = Taxon.objects.get(rank="family", scientific_name="Muridae")
    beneath = Organism.objects.filter(taxon__path__startswith=families.path, family="Muridae").count()
    assert beneath == Organism.objects.filter(family="Muridae").count() > 0
