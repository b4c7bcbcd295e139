"""The taxon tree: organisms placed in it from their rank fields, the data migration that moved the existing
rows, and moves of a subtree (one transaction, one invalidation, no cycles)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from biomuseum.pagecache import bump_stats
from organisms import demo, services
from organisms.models import Organism, Taxon, TaxonRank, VernacularName
from tests.factories import OrganismFactory
from tests.migrating import migrate

pytestmark = pytest.mark.django_db

BEFORE_THE_TREE = ("organisms", "0005_taxon_tree")
THE_TREE = ("organisms", "0006_organisms_into_the_tree")


def lineage(organism: Organism) -> list[tuple[str, str]]:
    taxon = Taxon.objects.get(pk=organism.taxon_id)
    ancestors = Taxon.objects.in_bulk(taxon.ancestor_ids)
    return [(ancestors[pk].rank, ancestors[pk].scientific_name) for pk in taxon.ancestor_ids] + [
        (taxon.rank, taxon.scientific_name)
    ]


def test_a_new_organism_is_placed_under_its_ranks(settings):
    organism = services.organism_create(
        user=None, common_name="Cougar", scientific_name="Puma concolor", kingdom="Animalia", phylum="Chordata",
        class_name="Mammalia", order_name="Carnivora", family="Felidae",
    )  # fmt: skip
    assert lineage(organism) == [
        ("kingdom", "Animalia"), ("phylum", "Chordata"), ("class", "Mammalia"), ("order", "Carnivora"),
        ("family", "Felidae"), ("genus", "Puma"), ("species", "Puma concolor"),
    ]  # fmt: skip
    names = VernacularName.objects.filter(taxon_id=organism.taxon_id)
    assert [(name.name, name.language, name.preferred) for name in names] == [("Cougar", "en", True)]


def test_relatives_share_their_nodes_and_a_trinomial_sits_under_its_species():
    lion = services.organism_create(user=None, common_name="Lion", scientific_name="Panthera leo", kingdom="Animalia",
                                    family="Felidae")  # fmt: skip
    tiger = services.organism_create(user=None, common_name="Tiger", scientific_name="Panthera tigris",
                                     kingdom="Animalia", family="Felidae")  # fmt: skip
    amur = services.organism_create(user=None, common_name="Amur tiger", scientific_name="Panthera tigris altaica",
                                    kingdom="Animalia", family="Felidae")  # fmt: skip
    assert Taxon.objects.get(pk=lion.taxon_id).parent_id == Taxon.objects.get(pk=tiger.taxon_id).parent_id
    amur_taxon = Taxon.objects.get(pk=amur.taxon_id)
    assert amur_taxon.rank == TaxonRank.SUBSPECIES
    assert amur_taxon.parent_id == tiger.taxon_id
    assert Taxon.objects.filter(rank="kingdom", scientific_name="Animalia").count() == 1


def test_a_renamed_organism_moves_to_its_new_taxon_and_its_english_name_follows():
    organism = services.organism_create(user=None, common_name="Mountain lion", scientific_name="Felis concolor",
                                        kingdom="Animalia", family="Felidae")  # fmt: skip
    old_taxon = organism.taxon_id
    services.organism_update(organism=organism, user=None, scientific_name="Puma concolor", genus="Puma")
    organism.refresh_from_db()
    assert organism.taxon_id != old_taxon
    assert Taxon.objects.get(pk=organism.taxon_id).scientific_name == "Puma concolor"
    services.organism_update(organism=organism, user=None, common_name="Cougar")
    names = VernacularName.objects.filter(taxon_id=organism.taxon_id).order_by("name")
    assert [(name.name, name.preferred) for name in names] == [("Cougar", True), ("Mountain lion", False)]


@pytest.mark.django_db(transaction=True)
def test_moving_a_family_moves_everything_beneath_it_in_one_update_and_one_bump():
    for index in range(30):
        OrganismFactory(scientific_name=f"Aus species{index}", genus="Aus", family="Aidae", order_name="Old",
                        kingdom="Animalia")  # fmt: skip
    services.place_in_tree(Organism.objects.all())
    family = Taxon.objects.get(rank="family", scientific_name="Aidae")
    new_order = services.taxon_create(
        parent=Taxon.objects.get(rank="kingdom", scientific_name="Animalia"), rank="order", scientific_name="New"
    )
    bumps = bump_stats()["bumps"]
    with CaptureQueriesContext(connection) as queries:
        services.taxon_move(taxon=family, parent=new_order, user=None)
    updates = [query["sql"] for query in queries if query["sql"].startswith("UPDATE") and "path" in query["sql"]]
    assert len(updates) == 1  # the whole subtree's paths in one statement
    assert bump_stats()["bumps"] == bumps + 1  # one invalidation, after the commit
    for organism in Organism.objects.all():
        names = [name for _, name in lineage(organism)]
        assert names[:3] == ["Animalia", "New", "Aidae"], names
        taxon = Taxon.objects.get(pk=organism.taxon_id)
        assert taxon.depth == len(taxon.ancestor_ids)
    assert Taxon.objects.filter(path__startswith=new_order.path).count() == 1 + 1 + 1 + 30  # order, family, genus


def test_a_move_that_would_make_a_cycle_or_climb_the_ranks_is_refused_and_changes_nothing():
    services.place_in_tree(
        [OrganismFactory(scientific_name="Aus bus", genus="Aus", family="Aidae", kingdom="Animalia")]
    )
    services.place_in_tree(
        [OrganismFactory(scientific_name="Cus dus", genus="Cus", family="Cidae", kingdom="Animalia")]
    )
    family = Taxon.objects.get(scientific_name="Aidae")
    paths = dict(Taxon.objects.values_list("pk", "path"))
    for parent in (family, Taxon.objects.get(scientific_name="Aus"), Taxon.objects.get(scientific_name="Aus bus")):
        with pytest.raises(ValidationError, match="itself or one of its descendants"):
            services.taxon_move(taxon=family, parent=parent, user=None)
    with pytest.raises(ValidationError, match="cannot sit under"):  # a family under another family's genus
        services.taxon_move(taxon=family, parent=Taxon.objects.get(scientific_name="Cus"), user=None)
    assert dict(Taxon.objects.values_list("pk", "path")) == paths


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrations_restored")
def test_the_data_migration_moves_the_demo_catalogue_into_the_tree_and_can_run_again():
    demo.load_organisms()
    demo.synthetic_organisms(200)
    before = {o.slug: (o.common_name, o.scientific_name, o.kingdom, o.family, o.genus) for o in Organism.objects.all()}
    placed = {organism.slug: lineage(organism) for organism in Organism.objects.all()}
    migrate(BEFORE_THE_TREE)  # its reverse empties the tree
    assert Taxon.objects.count() == 0 and Organism.objects.filter(taxon__isnull=False).count() == 0
    for _ in range(2):  # forwards, and then again as a rerun
        migrate(BEFORE_THE_TREE)
        migrate(THE_TREE)
        migrate()  # the models below are today's
        migrated = {organism.slug: lineage(organism) for organism in Organism.objects.all()}
        assert migrated == placed  # the same tree the services build
        after = {
            o.slug: (o.common_name, o.scientific_name, o.kingdom, o.family, o.genus) for o in Organism.objects.all()
        }
        assert after == before  # nothing on the organisms changed
        assert VernacularName.objects.filter(language="en", preferred=True).count() == len(before)


CAT = {"kingdom": "Animalia", "phylum": "Chordata", "class_name": "Mammalia", "order_name": "Carnivora",
       "family": "Felidae"}  # fmt: skip
RANK_COLUMNS = ("kingdom", "phylum", "class_name", "order_name", "family", "genus")


def ranks_of(organism: Organism) -> dict[str, str]:
    stored = Organism.objects.get(pk=organism.pk)
    return {column: getattr(stored, column) for column in ("scientific_name", *RANK_COLUMNS)}


def cat(scientific_name: str, **fields) -> Organism:
    return services.organism_create(user=None, common_name=scientific_name, scientific_name=scientific_name,
                                    **{**CAT, **fields})  # fmt: skip


def taxon(name: str, rank: str = "") -> Taxon:
    return Taxon.objects.get(scientific_name=name, **({"rank": rank} if rank else {}))


def test_tree_fields_reads_the_ranks_from_the_path_in_one_query_for_a_batch():
    cat("Panthera leo")
    cat("Panthera tigris altaica", phylum="")
    taxa = [taxon("Panthera leo"), taxon("Panthera tigris altaica")]
    with CaptureQueriesContext(connection) as queries:
        fields = services.tree_fields(taxa)
    assert len(queries) == 1
    assert fields[taxa[0].pk] == {
        "scientific_name": "Panthera leo", "kingdom": "Animalia", "phylum": "Chordata", "class_name": "Mammalia",
        "order_name": "Carnivora", "family": "Felidae", "genus": "Panthera",
    }  # fmt: skip
    assert fields[taxa[1].pk]["phylum"] == ""  # a rank the lineage skips
    assert fields[taxa[1].pk]["scientific_name"] == "Panthera tigris altaica"


def test_placing_an_organism_leaves_its_fields_as_the_tree_has_them():
    organism = cat("Panthera  tigris   altaica", family=" Felidae ")
    assert ranks_of(organism)["scientific_name"] == organism.scientific_name == "Panthera tigris altaica"
    assert ranks_of(organism)["family"] == "Felidae"


def test_moving_a_family_gives_every_organism_beneath_its_new_order_and_class():
    lion, puma = cat("Panthera leo"), cat("Puma concolor")
    dog = cat("Canis lupus", family="Canidae")
    before = Organism.objects.get(pk=lion.pk).updated_at
    aves = services.taxon_create(parent=taxon("Chordata"), rank="class", scientific_name="Aves")
    strigiformes = services.taxon_create(parent=aves, rank="order", scientific_name="Strigiformes")

    services.taxon_move(taxon=taxon("Felidae"), parent=strigiformes, user=None)

    for organism in (lion, puma):
        assert ranks_of(organism) | {"genus": ""} == {
            "scientific_name": organism.scientific_name, "kingdom": "Animalia", "phylum": "Chordata",
            "class_name": "Aves", "order_name": "Strigiformes", "family": "Felidae", "genus": "",
        }  # fmt: skip
    assert ranks_of(lion)["genus"] == "Panthera"
    assert ranks_of(dog)["order_name"] == "Carnivora"  # not beneath: untouched
    assert Organism.objects.get(pk=lion.pk).updated_at > before


def test_moving_a_subtree_costs_the_same_queries_for_few_organisms_or_many():
    def queries_to_move(count: int, family: str) -> int:
        for index in range(count):
            cat(f"{family[:-4]} species{index}", family=family, genus=family[:-4])
        order = services.taxon_create(parent=taxon("Mammalia"), rank="order", scientific_name=f"Ordo{family}")
        with CaptureQueriesContext(connection) as queries:
            services.taxon_move(taxon=taxon(family), parent=order, user=None)
        orders = Organism.objects.filter(family=family).values_list("order_name", flat=True)
        assert set(orders) == {order.scientific_name}
        return len(queries)

    assert queries_to_move(3, "Aidae") == queries_to_move(40, "Bidae")


def test_renaming_a_genus_renames_it_on_every_organism_beneath():
    lion, tiger, puma = cat("Panthera leo"), cat("Panthera tigris altaica"), cat("Puma concolor")
    services.taxon_update(taxon=taxon("Panthera", "genus"), user=None, scientific_name="Leo")
    assert ranks_of(lion)["genus"] == ranks_of(tiger)["genus"] == "Leo"
    assert ranks_of(lion)["scientific_name"] == "Panthera leo"  # the species' own name is the tree's to change
    assert ranks_of(puma)["genus"] == "Puma"


def test_renaming_a_species_renames_its_organism():
    puma = cat("Felis concolor", genus="Puma")
    services.taxon_update(taxon=taxon("Felis concolor"), user=None, scientific_name="Puma concolor")
    assert ranks_of(puma)["scientific_name"] == "Puma concolor"


def test_a_new_rank_moves_the_name_to_that_rank_column():
    lion = cat("Panthera leo", order_name="")
    services.taxon_update(taxon=taxon("Felidae"), user=None, rank="order")
    assert (ranks_of(lion)["order_name"], ranks_of(lion)["family"]) == ("Felidae", "")


def test_a_taxon_with_organisms_beneath_may_not_become_a_synonym():
    cat("Panthera leo")
    lion = taxon("Panthera leo")
    with pytest.raises(ValidationError) as refused:
        services.taxon_update(taxon=lion, user=None, status="synonym", accepted=taxon("Felidae"))
    assert "synonym" in refused.value.message_dict["status"][0]
    with pytest.raises(ValidationError, match="before it becomes a synonym"):
        services.taxon_update(taxon=taxon("Panthera"), user=None, status="synonym", accepted=taxon("Felidae"))
    assert taxon("Panthera leo").status == "accepted"


@pytest.mark.parametrize(
    ("name", "rank", "message"),
    [
        ("Panthera leo", "genus", "stays a species, subspecies or variety"),
        ("Animalia", "phylum", "without a kingdom"),
        ("Felidae", "species", "A genus beneath it cannot sit under a species"),
        ("Felidae", "kingdom", "A kingdom cannot sit under"),  # its parent is an order
    ],
)
def test_a_rank_that_would_break_the_organisms_beneath_is_refused(name, rank, message):
    lion = cat("Panthera leo")
    with pytest.raises(ValidationError, match=message):
        services.taxon_update(taxon=taxon(name), user=None, rank=rank)
    assert ranks_of(lion)["order_name"] == "Carnivora" and taxon(name).rank != rank


def test_a_species_subspecies_and_variety_are_ranks_an_organism_may_have():
    lion = cat("Panthera leo")
    services.taxon_update(taxon=taxon("Panthera leo"), user=None, rank="subspecies")
    assert Organism.objects.get(pk=lion.pk).taxon.rank == "subspecies"


def test_a_move_that_would_leave_organisms_without_a_kingdom_is_refused():
    lion = cat("Panthera leo")
    loose_order = services.taxon_create(parent=None, rank="order", scientific_name="Incertae")
    for parent in (loose_order, None):
        with pytest.raises(ValidationError, match="without a kingdom"):
            services.taxon_move(taxon=taxon("Felidae"), parent=parent, user=None)
    assert ranks_of(lion)["kingdom"] == "Animalia"
    empty = services.taxon_create(parent=taxon("Carnivora"), rank="family", scientific_name="Emptidae")
    services.taxon_move(taxon=empty, parent=loose_order, user=None)  # nothing beneath: nothing to keep


def test_renaming_a_species_to_another_organisms_name_is_refused():
    cat("Panthera leo")
    cat("Panthera tigris")
    with pytest.raises(ValidationError) as refused:
        services.taxon_update(taxon=taxon("Panthera tigris"), user=None, scientific_name="Panthera leo")
    assert "has this name already" in refused.value.message_dict["scientific_name"][0]
    assert taxon("Panthera tigris", "species")
