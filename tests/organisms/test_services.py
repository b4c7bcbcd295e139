import pytest
from django.core.exceptions import ValidationError

from organisms import services
from organisms.models import Organism, Taxon, TaxonomicStatus, VernacularName
from tests.factories import OrganismFactory

pytestmark = pytest.mark.django_db


def test_organism_create_derives_slug_and_genus_from_scientific_name():
    organism = services.organism_create(
        user=None, common_name="Snow leopard", scientific_name="Panthera uncia", kingdom="Animalia"
    )
    assert organism.slug == "panthera-uncia"
    assert organism.genus == "Panthera"
    assert organism.is_published is False


def test_organism_create_makes_slug_unique():
    OrganismFactory(slug="panthera-uncia", scientific_name="Something else")
    organism = services.organism_create(
        user=None, common_name="Snow leopard", scientific_name="Panthera uncia", kingdom="Animalia"
    )
    assert organism.slug == "panthera-uncia-2"


def test_organism_create_refuses_duplicate_scientific_name():
    OrganismFactory(scientific_name="Panthera uncia")
    with pytest.raises(ValidationError):
        services.organism_create(user=None, common_name="Again", scientific_name="Panthera uncia", kingdom="Animalia")
    assert Organism.objects.filter(scientific_name="Panthera uncia").count() == 1


def test_organism_create_ignores_server_owned_fields():
    organism = services.organism_create(
        user=None, common_name="A", scientific_name="Aus bus", kingdom="Animalia", created_at="1999-01-01", id=999
    )
    assert organism.id != 999
    assert organism.created_at.year > 2000


def test_organism_update_derives_a_missing_genus_from_the_scientific_name():
    organism = OrganismFactory(scientific_name="Felis catus", genus="Felis")

    services.organism_update(organism=organism, user=None, scientific_name="Panthera uncia", genus="")

    assert Organism.objects.get(pk=organism.pk).genus == "Panthera"


def test_organism_update_keeps_a_genus_given():
    organism = OrganismFactory(scientific_name="Felis catus", genus="Felis")

    services.organism_update(organism=organism, user=None, scientific_name="Panthera uncia")

    assert Organism.objects.get(pk=organism.pk).genus == "Felis"


def test_organism_update_changes_only_named_fields():
    organism = OrganismFactory(common_name="Old", habitat="Forest")
    services.organism_update(organism=organism, user=None, common_name="New")
    organism.refresh_from_db()
    assert (organism.common_name, organism.habitat) == ("New", "Forest")


def test_organism_update_validates_status():
    organism = OrganismFactory()
    with pytest.raises(ValidationError):
        services.organism_update(organism=organism, user=None, conservation_status="XX")


def test_organism_set_published_counts_only_changed_rows():
    drafts = OrganismFactory.create_batch(3, is_published=False)
    OrganismFactory(is_published=True)
    changed = services.organism_set_published(organisms=Organism.objects.all(), published=True, user=None)
    assert changed == 3
    assert Organism.objects.filter(is_published=False).count() == 0
    assert (
        services.organism_set_published(organisms=Organism.objects.filter(pk=drafts[0].pk), published=False, user=None)
        == 1
    )


def test_organism_delete_removes_row_and_images():
    from tests.factories import OrganismImageFactory

    image = OrganismImageFactory()
    services.organism_delete(organism=image.organism, user=None)
    assert not Organism.objects.filter(pk=image.organism_id).exists()


@pytest.fixture
def tree() -> dict[str, Taxon]:
    """Animalia > Chordata > Mammalia > Carnivora > Felidae > Panthera > Panthera leo, P. onca; a synonym."""
    taxa, parent = {}, None
    for rank, name in [("kingdom", "Animalia"), ("phylum", "Chordata"), ("class", "Mammalia"),
                       ("order", "Carnivora"), ("family", "Felidae"), ("genus", "Panthera")]:  # fmt: skip
        parent = taxa[name] = services.taxon_create(parent=parent, rank=rank, scientific_name=name)
    for name in ("Panthera leo", "Panthera onca"):
        taxa[name] = services.taxon_create(parent=parent, rank="species", scientific_name=name)
    taxa["Felis leo"] = Taxon.objects.create(rank="species", scientific_name="Felis leo", path="",
                                             status=TaxonomicStatus.SYNONYM, accepted=taxa["Panthera leo"])  # fmt: skip
    return taxa


def test_organism_create_with_a_taxon_takes_its_name_and_ranks_from_the_tree(tree):
    organism = services.organism_create(user=None, common_name="Lion", taxon=tree["Panthera leo"])

    stored = Organism.objects.get(pk=organism.pk)
    assert stored.taxon_id == tree["Panthera leo"].pk
    assert (stored.scientific_name, stored.slug) == ("Panthera leo", "panthera-leo")
    assert (stored.kingdom, stored.phylum, stored.class_name, stored.order_name, stored.family, stored.genus) == (
        "Animalia", "Chordata", "Mammalia", "Carnivora", "Felidae", "Panthera"
    )  # fmt: skip
    assert VernacularName.objects.get(taxon=tree["Panthera leo"], preferred=True).name == "Lion"
    assert Taxon.objects.count() == len(tree)  # nothing placed by name


@pytest.mark.parametrize("field", ["scientific_name", "genus", "class_name"])
def test_organism_create_refuses_a_name_or_rank_given_with_the_taxon(tree, field):
    with pytest.raises(ValidationError) as refused:
        services.organism_create(user=None, common_name="Lion", taxon=tree["Panthera leo"], **{field: "Felis"})

    assert refused.value.message_dict == {field: [services.FROM_THE_TAXON]}
    assert not Organism.objects.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Felis leo", "Felis leo is a synonym of Panthera leo"),
        ("Panthera", "Panthera is a genus: an organism belongs to a species, subspecies or variety"),
    ],
)
def test_organism_create_refuses_a_taxon_an_organism_cannot_have(tree, name, message):
    with pytest.raises(ValidationError) as refused:
        services.organism_create(user=None, common_name="Lion", taxon=tree[name])

    assert message in refused.value.message_dict["taxon"][0]


def test_organism_create_refuses_a_taxon_with_no_kingdom_above_it():
    genus = services.taxon_create(parent=None, rank="genus", scientific_name="Incertus")
    species = services.taxon_create(parent=genus, rank="species", scientific_name="Incertus sedis")

    with pytest.raises(ValidationError, match="no kingdom above it"):
        services.organism_create(user=None, common_name="?", taxon=species)


def test_organism_create_refuses_a_taxon_that_has_its_record_already(tree):
    services.organism_create(user=None, common_name="Lion", taxon=tree["Panthera leo"])

    with pytest.raises(ValidationError) as refused:
        services.organism_create(user=None, common_name="Lion again", taxon=tree["Panthera leo"])

    assert refused.value.message_dict["taxon"] == ["Lion (Panthera leo) is this taxon's record already."]


def test_organism_update_with_a_taxon_refiles_the_record(tree):
    organism = services.organism_create(user=None, common_name="Jaguar", scientific_name="Felis onca",
                                        kingdom="Animalia", family="Felidae")  # fmt: skip

    services.organism_update(organism=organism, user=None, taxon=tree["Panthera onca"], habitat="Rainforest")

    stored = Organism.objects.get(pk=organism.pk)
    assert (stored.taxon_id, stored.scientific_name, stored.genus, stored.order_name, stored.habitat) == (
        tree["Panthera onca"].pk, "Panthera onca", "Panthera", "Carnivora", "Rainforest"
    )  # fmt: skip
    assert stored.slug == "felis-onca"  # a slug stays what it was: links keep working


def test_organism_update_without_a_taxon_still_places_the_record_by_its_ranks(tree):
    organism = services.organism_create(user=None, common_name="Lion", taxon=tree["Panthera leo"])

    services.organism_update(organism=organism, user=None, family="Pantheridae")

    stored = Organism.objects.get(pk=organism.pk)
    assert stored.family == "Pantheridae"
    assert Taxon.objects.get(pk=stored.taxon_id).parent.parent.scientific_name == "Pantheridae"
