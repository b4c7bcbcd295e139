from datetime import timedelta

import pytest
from django.utils import timezone

from organisms import related
from organisms.serializers import OrganismDetailSerializer
from organisms.views import OrganismViewSet

from ..factories import PostFactory

pytestmark = pytest.mark.django_db


def test_blogs_shows_related_posts_on_the_organism_detail():
    assert related.field_names() == ["related_posts"]
    assert "related_posts" in OrganismDetailSerializer().fields


def test_blogs_organism_detail_page_depends_on_posts_and_expires_with_the_next_scheduled_post():
    scheduled = PostFactory(published_at=timezone.now() + timedelta(hours=3))
    PostFactory(published_at=timezone.now() + timedelta(hours=5))

    policy = OrganismViewSet.page_cache["retrieve"]

    assert policy.families == ("organisms", "posts")
    assert policy.expires() == scheduled.published_at
