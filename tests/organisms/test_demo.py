import itertools
import re
import statistics
from collections import Counter, defaultdict

import pytest

from organisms.demo import delete_synthetic_organisms, load_organisms, synthetic_organisms
from organisms.demo.catalogue import demo_records, demo_taxonomy
from organisms.demo.synthetic import MAX_GENUS_SIZE, SYNTHETIC_PREFIX, synthetic_plan
from organisms.models import Organism, Taxon, TaxonomicStatus, VernacularName

pytestmark = pytest.mark.django_db

# BCP 47 as the demo data uses it: a language (ISO 639, 2 or 3 letters), then optionally a script (ISO 15924)
# and a region (ISO 3166 or UN M.49).
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?")
SCIENTIFIC_NAME = re.compile(r"[A-Z][a-z]+( [a-z]+){1,2}")


def species(scientific_name: str) -> Taxon:
    return Organism.objects.select_related("taxon").get(scientific_name=scientific_name).taxon


def names_of(taxon: Taxon) -> dict[str, list[tuple[str, bool]]]:
    names = defaultdict(list)
    for vernacular in taxon.vernacular_names.order_by("language", "-preferred", "pk"):
        names[vernacular.language].append((vernacular.name, vernacular.preferred))
    return dict(names)


def taxonomy_snapshot() -> dict:
    return {
        "taxa": sorted(
            Taxon.objects.values_list(
                "pk", "rank", "scientific_name", "authorship", "status", "parent_id", "accepted_id", "path", "depth"
            )
        ),
        "names": sorted(
            VernacularName.objects.values_list("pk", "taxon_id", "language", "name", "region", "preferred")
        ),
        "organisms": sorted(Organism.objects.values_list("pk", "slug", "common_name", "taxon_id")),
    }


def test_load_organisms_loads_the_published_species_once():
    created = load_organisms()

    assert created == Organism.objects.published().count() == len(demo_records())
    assert load_organisms() == 0


def test_load_organisms_gives_each_species_its_authorship_and_synonyms():
    load_organisms()

    snow_leopard = species("Panthera uncia")
    assert snow_leopard.authorship == "(Schreber, 1775)"
    synonyms = Taxon.objects.filter(accepted=snow_leopard)
    assert sorted(synonyms.values_list("scientific_name", "authorship")) == [
        ("Felis uncia", "Schreber, 1775"),
        ("Uncia uncia", "(Schreber, 1775)"),
    ]
    for synonym in synonyms:
        assert (synonym.status, synonym.parent_id, synonym.path, synonym.depth) == (
            TaxonomicStatus.SYNONYM,
            None,
            "",
            0,
        )
    assert Taxon.objects.get(scientific_name="Pongo pygmaeus abelii").rank == "subspecies"
    assert species("Escherichia coli").authorship == "(Migula, 1895) Castellani & Chalmers, 1919"
    authored = Taxon.objects.filter(rank="species", status=TaxonomicStatus.ACCEPTED, organisms__isnull=False)
    assert not authored.filter(authorship="").exists()


def test_load_organisms_gives_each_species_its_names_one_preferred_per_language():
    load_organisms()

    names = names_of(species("Panthera uncia"))
    assert names["en"] == [("Snow leopard", True), ("Ounce", False)]
    assert names["fr"] == [("Panthère des neiges", True), ("Once", False)]
    assert names["es"][0] == ("Leopardo de las nieves", True)
    assert names["de"] == [("Schneeleopard", True)]
    assert names["ja"] == [("ユキヒョウ", True)]
    assert names_of(species("Strigops habroptilus"))["mi"] == [("Kākāpō", True)]
    assert names_of(species("Corvus hawaiiensis"))["haw"] == [("ʻAlalā", True)]
    for organism in Organism.objects.select_related("taxon"):
        preferred = Counter(organism.taxon.vernacular_names.filter(preferred=True).values_list("language", flat=True))
        assert set(preferred.values()) == {1}
        assert organism.taxon.vernacular_names.get(language="en", preferred=True).name == organism.common_name


def test_load_organisms_a_second_time_changes_nothing():
    load_organisms()
    before = taxonomy_snapshot()

    assert load_organisms() == 0

    assert taxonomy_snapshot() == before


def test_load_organisms_keeps_what_a_curator_changed():
    load_organisms()
    snow_leopard = species("Panthera uncia")
    Taxon.objects.filter(pk=snow_leopard.pk).update(authorship="Schreber 1775")
    snow_leopard.vernacular_names.filter(language="fr").update(preferred=False)
    VernacularName.objects.create(taxon=snow_leopard, language="fr", name="Irbis", preferred=True)
    snow_leopard.vernacular_names.filter(language="de").delete()

    load_organisms()

    snow_leopard.refresh_from_db()
    assert snow_leopard.authorship == "Schreber 1775"
    names = names_of(snow_leopard)
    assert names["fr"][0] == ("Irbis", True)
    assert sorted(names["fr"][1:]) == [("Once", False), ("Panthère des neiges", False)]
    assert names["de"] == [("Schneeleopard", True)]  # deleted, so missing: given back


def test_the_taxonomy_file_covers_every_demo_species_and_only_those():
    taxonomy = demo_taxonomy()
    records = {record["scientific_name"]: record for record in demo_records()}

    assert set(taxonomy) == set(records)
    for scientific_name, entry in taxonomy.items():
        assert entry["authorship"], scientific_name
        assert entry["names"]["en"][0] == records[scientific_name]["common_name"], scientific_name
    in_the_big_four = [entry for entry in taxonomy.values() if {"en", "fr", "es", "de"} <= set(entry["names"])]
    assert len(in_the_big_four) >= 60


def test_the_taxonomy_file_names_are_well_formed():
    languages = set()
    for scientific_name, entry in demo_taxonomy().items():
        assert set(entry) <= {"authorship", "synonyms", "names"}, scientific_name
        for language, names in entry["names"].items():
            languages.add(language)
            assert LANGUAGE_TAG.fullmatch(language), (scientific_name, language)
            plain = [name if isinstance(name, str) else name["name"] for name in names]
            assert plain and all(name == name.strip() and name for name in plain), (scientific_name, language)
            assert len(set(plain)) == len(plain), (scientific_name, language)
        for synonym in entry.get("synonyms", []):
            assert SCIENTIFIC_NAME.fullmatch(synonym["name"]), synonym
            assert synonym["name"] != scientific_name and synonym["authorship"], synonym
    assert {"en", "fr", "es", "de", "pt", "it", "nl", "ja"} <= languages


def test_synthetic_organisms_tops_up_to_the_target():
    assert synthetic_organisms(30) == 30
    assert synthetic_organisms(40) == 10
    assert Organism.objects.filter(slug__startswith="synthetic-").count() == 40


def test_synthetic_organisms_make_a_tree_of_realistic_shape():
    synthetic_organisms(600)

    organisms = Organism.objects.filter(slug__startswith=SYNTHETIC_PREFIX).select_related("taxon__parent")
    assert organisms.count() == 600
    assert organisms.values("kingdom").distinct().count() >= 3
    assert organisms.values("family").distinct().count() >= 20
    genus_sizes = Counter(organism.taxon.parent.pk for organism in organisms)
    assert all(1 <= size <= MAX_GENUS_SIZE for size in genus_sizes.values())
    assert min(genus_sizes.values()) == 1 and max(genus_sizes.values()) >= 20  # a long tail, not 40 apiece
    for organism in organisms:
        names = list(organism.taxon.vernacular_names.all())
        assert 2 <= len(names) <= 4
        assert len({name.language for name in names}) == len(names) and all(name.preferred for name in names)
        assert next(name.name for name in names if name.language == "en") == organism.common_name
    synonyms = Taxon.objects.filter(status=TaxonomicStatus.SYNONYM, accepted__organisms__in=organisms)
    assert 0 < synonyms.count() < 60
    assert not synonyms.exclude(parent=None, path="", depth=0).exists()


def test_synthetic_organisms_a_second_time_change_nothing():
    synthetic_organisms(600)
    before = taxonomy_snapshot()

    assert synthetic_organisms(600) == 0

    assert taxonomy_snapshot() == before


def test_synthetic_organisms_grown_in_steps_are_the_plan_in_one():
    synthetic_organisms(250)
    synthetic_organisms(600)

    plan = list(itertools.islice(synthetic_plan(), 600))
    organisms = Organism.objects.filter(slug__startswith=SYNTHETIC_PREFIX)
    assert sorted(organisms.values_list("scientific_name", "family")) == sorted(
        (species.scientific_name, species.family) for species in plan
    )
    stored = VernacularName.objects.filter(taxon__organisms__in=organisms).exclude(language="en")
    assert sorted(stored.values_list("taxon__scientific_name", "language", "name")) == sorted(
        (species.scientific_name, name.language, name.name) for species in plan for name in species.names(0)
    )


def test_the_synthetic_plan_has_genera_of_1_to_50_species_mostly_small():
    genera = Counter(species.genus for species in itertools.islice(synthetic_plan(), 20_000))

    assert min(genera.values()) == 1 and max(genera.values()) == MAX_GENUS_SIZE
    assert statistics.median(genera.values()) <= 3


def test_delete_synthetic_organisms_leaves_the_demo_catalogue_as_it_was():
    load_organisms()
    demo_only = taxonomy_snapshot()
    synthetic_organisms(600)

    assert delete_synthetic_organisms() == 600

    assert taxonomy_snapshot() == demo_only
