import pytest

from organisms.demo import load_organisms, synthetic_organisms
from organisms.models import Organism

pytestmark = pytest.mark.django_db


def test_load_organisms_loads_the_published_species_once():
    created = load_organisms()

    assert created == Organism.objects.published().count() >= 60
    assert load_organisms() == 0


def test_synthetic_organisms_tops_up_to_the_target():
    assert synthetic_organisms(30) == 30
    assert synthetic_organisms(40) == 10
    assert Organism.objects.filter(slug__startswith="synthetic-").count() == 40
