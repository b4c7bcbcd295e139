"""Read serializers build their fields from the model once per class (biomuseum/serializers.py)."""

import pytest
from rest_framework import serializers

from biomuseum.serializers import FieldsBuiltOnceMixin, SparseFieldsMixin
from organisms import related
from organisms.models import Organism
from organisms.serializers import OrganismDetailSerializer
from tests.factories import OrganismFactory

pytestmark = pytest.mark.django_db


class Counted(SparseFieldsMixin, FieldsBuiltOnceMixin, serializers.ModelSerializer):
    builds = 0

    class Meta:
        model = Organism
        fields = ["slug", "common_name", "kingdom"]

    def get_fields(self):
        type(self).builds += 1
        return super().get_fields()


def test_fields_are_built_once_and_each_serializer_binds_its_own_copies():
    organism = OrganismFactory(common_name="Snow leopard", kingdom="Animalia")
    first, second = Counted(organism), Counted(organism, context={"fields": ["slug"]})
    assert list(first.fields) == ["slug", "common_name", "kingdom"]
    assert list(second.fields) == ["slug"]  # one serializer's sparse fields leave the next one's alone
    assert list(Counted(organism).fields) == ["slug", "common_name", "kingdom"]
    assert Counted.builds == 1
    assert first.fields["slug"] is not Counted(organism).fields["slug"]
    assert first.fields["slug"].parent is first  # bound to its own serializer, and so to its own context
    assert first.data == {"slug": organism.slug, "common_name": "Snow leopard", "kingdom": "Animalia"}


def test_the_detail_builds_its_fields_again_when_related_content_is_registered(monkeypatch):
    before = list(OrganismDetailSerializer().fields)
    monkeypatch.setattr(related, "_registry", {})
    alone = list(OrganismDetailSerializer().fields)
    assert "related_posts" in before and "related_posts" not in alone
    assert [name for name in before if name != "related_posts"] == alone
