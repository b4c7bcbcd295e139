import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from biomuseum.images import ImageStatus
from organisms import selectors
from tests.factories import OrganismFactory, OrganismImageFactory

pytestmark = pytest.mark.django_db


def test_organism_list_hides_unpublished():
    visible = OrganismFactory()
    OrganismFactory(is_published=False)
    assert list(selectors.organism_list()) == [visible]


def test_organism_list_filters_by_rank_case_insensitively():
    cat = OrganismFactory(class_name="Mammalia", order_name="Carnivora")
    OrganismFactory(class_name="Aves", order_name="Strigiformes")
    assert list(selectors.organism_list(filters={"class": "mammalia"})) == [cat]
    assert list(selectors.organism_list(filters={"order": "CARNIVORA"})) == [cat]


def test_organism_list_filters_by_several_statuses():
    critical = OrganismFactory(conservation_status="CR")
    endangered = OrganismFactory(conservation_status="EN")
    OrganismFactory(conservation_status="LC")
    found = set(selectors.organism_list(filters={"conservation_status": ["CR", "EN"]}))
    assert found == {critical, endangered}


def test_organism_list_searches_common_and_scientific_names():
    leopard = OrganismFactory(common_name="Snow leopard", scientific_name="Panthera uncia")
    OrganismFactory(common_name="Barn owl", scientific_name="Tyto alba")
    assert list(selectors.organism_list(search="LEOP")) == [leopard]
    assert list(selectors.organism_list(search="uncia")) == [leopard]


def test_organism_list_prefetches_only_ready_images_without_extra_queries():
    for _ in range(5):
        organism = OrganismFactory()
        OrganismImageFactory(organism=organism, position=1)
        OrganismImageFactory(organism=organism, position=0, status=ImageStatus.PENDING)
    with CaptureQueriesContext(connection) as queries:
        rows = list(selectors.organism_list())
        images = [list(row.images.all()) for row in rows]
    assert len(queries) == 2
    assert all(len(found) == 1 and found[0].status == ImageStatus.READY for found in images)


def test_organism_autocomplete_puts_exact_matches_first():
    OrganismFactory(common_name="Tigerfish", scientific_name="Hydrocynus vittatus")
    exact = OrganismFactory(common_name="Tiger", scientific_name="Panthera tigris")
    OrganismFactory(common_name="Bengal tiger moth", scientific_name="Aaa tigerella")
    OrganismFactory(common_name="Lion", scientific_name="Panthera leo")
    names = [o.common_name for o in selectors.organism_autocomplete(query="tiger")]
    assert names[0] == "Tiger"
    assert set(names) == {"Tiger", "Tigerfish", "Bengal tiger moth"}
    assert exact.common_name in names


def test_organism_autocomplete_caps_results_and_skips_unpublished():
    OrganismFactory.create_batch(12, common_name="Bat")
    OrganismFactory(common_name="Bat hidden", is_published=False)
    suggestions = selectors.organism_autocomplete(query="bat")
    assert len(suggestions) == 10
    assert all(o.is_published for o in suggestions)


@pytest.mark.parametrize("typed", ["Straßenk", "straßenk", "STRAßENK", "Straßenkatze"])
def test_organism_autocomplete_finds_names_with_special_case_mappings(typed):
    """Python's upper() maps ß to SS; PostgreSQL's UPPER keeps it: both sides must fold alike."""
    OrganismFactory(common_name="Straßenkatze", scientific_name="Felis catus urbana")
    OrganismFactory(common_name="Strasse pigeon", scientific_name="Columba livia urbana")
    names = [o.common_name for o in selectors.organism_autocomplete(query=typed)]
    assert names[0] == "Straßenkatze"


@pytest.mark.parametrize("probe", [2000, 3])
def test_organism_list_beneath_a_taxon_is_the_same_whether_its_subtree_is_probed_or_joined(monkeypatch, probe):
    from organisms.models import Taxon

    monkeypatch.setattr(selectors, "SUBTREE_PROBE", probe)  # 3: the family's subtree is too large to probe
    for index in range(4):
        OrganismFactory(scientific_name=f"Aus species{index}", genus="Aus", family="Aidae", kingdom="Animalia")
    OrganismFactory(scientific_name="Bus alter", genus="Bus", family="Aidae", kingdom="Animalia")
    OrganismFactory(scientific_name="Cus other", genus="Cus", family="Cidae", kingdom="Animalia")
    OrganismFactory(scientific_name="Aus hidden", genus="Aus", family="Aidae", kingdom="Animalia", is_published=False)
    family = Taxon.objects.get(rank="family", scientific_name="Aidae")
    listed = selectors.organism_list(filters={"taxon": family.pk}).order_by("scientific_name")
    assert [organism.scientific_name for organism in listed] == [
        "Aus species0", "Aus species1", "Aus species2", "Aus species3", "Bus alter",
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        list(selectors.organism_list(filters={"taxon": family.pk}).order_by("scientific_name"))
    [page] = [query["sql"] for query in queries if 'FROM "organisms_organism"' in query["sql"]]
    assert ('INNER JOIN "organisms_taxon"' in page) == (probe == 3)  # joined only when too large to probe
