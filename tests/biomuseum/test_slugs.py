import pytest
from rest_framework import serializers

from biomuseum.slugs import UniqueSlugMixin, unique_slug
from blogs.models import Tag
from organisms.models import Organism
from tests.factories import OrganismFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_unique_slug_follows_the_text():
    assert unique_slug(Organism, "Panthera uncia") == "panthera-uncia"


def test_unique_slug_numbers_a_collision():
    OrganismFactory(slug="panthera-uncia")
    OrganismFactory(slug="panthera-uncia-2")

    assert unique_slug(Organism, "Panthera uncia") == "panthera-uncia-3"


def test_unique_slug_ignores_the_excluded_row():
    organism = OrganismFactory(slug="panthera-uncia")

    assert unique_slug(Organism, "Panthera uncia", exclude_pk=organism.pk) == "panthera-uncia"


def test_unique_slug_stays_within_max_length_and_never_empty():
    TagFactory(slug="item")

    assert len(unique_slug(Tag, "word " * 40, max_length=60)) <= 60
    assert unique_slug(Tag, "!!!", max_length=60) == "item-2"


class TagSlugSerializer(UniqueSlugMixin, serializers.ModelSerializer):
    slug = serializers.SlugField(max_length=60)  # declared, as the write serializers do: no model validator
    slug_taken_message = "A tag with this slug already exists."

    class Meta:
        model = Tag
        fields = ["slug"]


def test_unique_slug_mixin_refuses_a_slug_another_row_has():
    TagFactory(name="Birds", slug="birds")

    serializer = TagSlugSerializer(data={"slug": "birds"})

    assert not serializer.is_valid()
    assert serializer.errors["slug"] == ["A tag with this slug already exists."]


def test_unique_slug_mixin_accepts_the_rows_own_slug():
    tag = TagFactory(name="Birds", slug="birds")

    assert TagSlugSerializer(tag, data={"slug": "birds"}).is_valid()
