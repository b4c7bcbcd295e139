from datetime import timedelta

import pytest
from django.db.models import Prefetch
from django.utils import timezone
from rest_framework import serializers

from organisms import related
from organisms.models import OrganismImage
from organisms.serializers import OrganismDetailSerializer
from organisms.views import OrganismViewSet

SOON = timezone.now() + timedelta(hours=1)
LATER = timezone.now() + timedelta(hours=2)


@pytest.fixture
def registry(monkeypatch):
    """An empty registry for the test (the blog's registration is restored afterwards)."""
    monkeypatch.setattr(related, "_registry", {})
    return related


def content(name: str, families: tuple[str, ...], expires=None) -> related.RelatedContent:
    return related.RelatedContent(
        name=name,
        field=lambda: serializers.ListField(source="images.all", read_only=True),
        prefetch=lambda: Prefetch("images", queryset=OrganismImage.objects.all()),
        families=families,
        expires=expires,
    )


def test_related_nothing_registered_leaves_the_organism_alone(registry):
    assert registry.field_names() == []
    assert registry.prefetches() == []
    assert registry.families() == ()
    assert registry.next_change_at() is None
    assert "related_posts" not in OrganismDetailSerializer().fields
    assert OrganismViewSet.page_cache["retrieve"].families == ("organisms",)


def test_related_fields_come_after_the_organisms_own_and_before_the_timestamps(registry):
    registry.register(content("mentions", ("notes",)))

    names = list(OrganismDetailSerializer().fields)

    assert names[-3:] == ["mentions", "created_at", "updated_at"]
    assert OrganismDetailSerializer.field_names() == names


def test_related_each_serializer_gets_its_own_field(registry):
    registry.register(content("mentions", ("notes",)))

    assert OrganismDetailSerializer().fields["mentions"] is not OrganismDetailSerializer().fields["mentions"]


def test_related_families_are_joined_once_each_in_order(registry):
    registry.register(content("mentions", ("notes", "posts")))
    registry.register(content("citations", ("posts", "papers")))

    assert registry.families() == ("notes", "posts", "papers")
    assert OrganismViewSet.page_cache["retrieve"].families == ("organisms", "notes", "posts", "papers")


def test_related_next_change_is_the_soonest_of_the_registered_expiries(registry):
    registry.register(content("mentions", ("notes",), expires=lambda: LATER))
    registry.register(content("citations", ("papers",), expires=lambda: SOON))
    registry.register(content("quiet", ("quiet",), expires=lambda: None))
    registry.register(content("static", ("static",)))

    assert registry.next_change_at() == SOON
    assert OrganismViewSet.page_cache["retrieve"].expires() == SOON


def test_related_registering_a_name_again_replaces_it(registry):
    registry.register(content("mentions", ("notes",)))
    registry.register(content("mentions", ("papers",)))

    assert registry.field_names() == ["mentions"]
    assert registry.families() == ("papers",)
