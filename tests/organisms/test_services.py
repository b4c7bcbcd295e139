import pytest
from django.core.exceptions import ValidationError

from organisms import services
from organisms.models import Organism
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
