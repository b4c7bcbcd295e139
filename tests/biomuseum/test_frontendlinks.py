"""The admin's "View site" and "View on site" lead to the public frontend (FRONTEND_URL), or are not shown."""

import pytest
from django.utils import timezone

from blogs.models import PostStatus
from tests.factories import OrganismFactory, PostFactory, UserFactory


@pytest.fixture
def curator_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_view_site_leads_to_the_frontend(curator_client, settings):
    settings.FRONTEND_URL = "https://museum.example"
    assert '<a href="https://museum.example/">View site</a>' in page(curator_client, "/admin/")


def test_view_site_is_hidden_without_a_frontend(curator_client, settings):
    settings.FRONTEND_URL = ""
    assert "View site" not in page(curator_client, "/admin/")


def test_view_on_site_opens_the_records_frontend_page(curator_client, settings):
    settings.FRONTEND_URL = "https://museum.example"
    organism = OrganismFactory(slug="red-fox")
    post = PostFactory(slug="spring-migration")
    html = page(curator_client, f"/admin/organisms/organism/{organism.pk}/change/")
    assert 'href="https://museum.example/organisms/red-fox/" class="viewsitelink"' in html
    html = page(curator_client, f"/admin/blogs/post/{post.pk}/change/")
    assert 'href="https://museum.example/posts/spring-migration/" class="viewsitelink"' in html
    settings.FRONTEND_POST_PATH = "/journal/{slug}"
    html = page(curator_client, f"/admin/blogs/post/{post.pk}/change/")
    assert 'href="https://museum.example/journal/spring-migration" class="viewsitelink"' in html


def test_view_on_site_is_hidden_without_a_frontend(curator_client, settings):
    settings.FRONTEND_URL = ""
    organism = OrganismFactory()
    assert "viewsitelink" not in page(curator_client, f"/admin/organisms/organism/{organism.pk}/change/")


def test_view_on_site_is_hidden_for_what_the_public_cannot_see(curator_client, settings):
    settings.FRONTEND_URL = "https://museum.example"
    draft_organism = OrganismFactory(is_published=False)
    draft = PostFactory(status=PostStatus.DRAFT, published_at=None)
    scheduled = PostFactory(published_at=timezone.now() + timezone.timedelta(days=2))
    for url in (
        f"/admin/organisms/organism/{draft_organism.pk}/change/",
        f"/admin/blogs/post/{draft.pk}/change/",
        f"/admin/blogs/post/{scheduled.pk}/change/",
    ):
        assert "viewsitelink" not in page(curator_client, url), url
