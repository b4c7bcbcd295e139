"""Preview links: one unpublished record, to whoever holds its token, never through or into the page cache."""

import time

import pytest
from django.contrib.auth.models import Permission
from django.core import signing
from django.test import Client
from django.urls import reverse

from biomuseum import previews
from blogs.models import Post
from organisms.models import Organism
from tests.factories import OrganismFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_token_names_one_record_of_one_model():
    organism = OrganismFactory()
    token = previews.make_token(organism)
    assert previews.record_pk(token, Organism) == organism.pk
    with pytest.raises(previews.PreviewRefused) as refused:
        previews.record_pk(token, Post)
    assert refused.value.get_codes() == "preview_other_record"


def test_a_token_expires(settings):
    settings.PREVIEW_TOKEN_MAX_AGE = 1
    token = previews.make_token(OrganismFactory())
    time.sleep(2.1)  # signing counts whole seconds
    with pytest.raises(previews.PreviewRefused) as refused:
        previews.record_pk(token, Organism)
    assert refused.value.get_codes() == "preview_expired"


def test_a_draft_previewed_never_reaches_anonymous_callers_through_the_cache(page_cache, wsgi):
    draft = PostFactory(status="draft", title="Owls at dusk", body="Not yet")
    url = f"/api/v1/posts/{draft.slug}/"
    assert wsgi("GET", url).status_code == 404
    token = previews.make_token(draft)
    for _ in range(2):  # a second time, in case the first was stored
        shown = wsgi("GET", f"{url}?preview={token}")
        assert shown.status_code == 200 and shown.json()["title"] == "Owls at dusk"
        assert shown["Cache-Control"] == "private, no-store" and shown.get("X-Cache") is None
        assert shown.get("ETag") is None
    for _ in range(2):
        assert wsgi("GET", url).status_code == 404  # never the draft
    assert wsgi("GET", f"{url}?fields=title").status_code == 404


def test_a_published_record_previewed_leaves_the_public_page_as_it_is(page_cache, wsgi):
    organism = OrganismFactory(is_published=True, habitat="Steppe")
    url = f"/api/v1/organisms/{organism.slug}/"
    token = previews.make_token(organism)
    assert wsgi("GET", f"{url}?preview={token}&fields=habitat").json() == {"habitat": "Steppe"}
    first = wsgi("GET", url)
    assert first.status_code == 200 and first["X-Cache"] != "HIT"  # the preview stored nothing
    assert "private" not in first["Cache-Control"]
    assert wsgi("GET", url)["X-Cache"] == "HIT"


def test_an_unpublished_organism_shows_to_its_token_only(client):
    organism, other = OrganismFactory(is_published=False), OrganismFactory(is_published=False)
    token = previews.make_token(organism)
    assert client.get(f"/api/v1/organisms/{organism.slug}/").status_code == 404
    assert client.get(f"/api/v1/organisms/{organism.slug}/?preview={token}").status_code == 200
    assert client.get(f"/api/v1/organisms/{other.slug}/?preview={token}").status_code == 404  # another record
    other_kind = client.get(f"/api/v1/posts/{PostFactory(status='draft').slug}/?preview={token}")
    assert other_kind.status_code == 403 and "another kind of record" in other_kind.content.decode()


@pytest.mark.parametrize("token", ["forged", "x" * 201, signing.dumps(["organisms.organism", 1], salt="other")])
def test_a_bad_token_is_a_clear_refusal(client, token):
    organism = OrganismFactory(is_published=False)
    response = client.get(f"/api/v1/organisms/{organism.slug}/", {"preview": token})
    assert response.status_code in (400, 403)
    assert response["Content-Type"].startswith("application/json")
    assert "Snow" not in response.content.decode() and organism.common_name not in response.content.decode()


# --- the admin's Preview button ---


def test_the_preview_button_opens_the_api_record_with_a_working_token(admin_client):
    draft = PostFactory(status="draft", title="Moths")
    page = admin_client.get(reverse("admin:blogs_post_change", args=[draft.pk])).content.decode()
    assert 'class="previewlink"' in page
    response = admin_client.get(reverse("admin:blogs_post_preview", args=[draft.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(f"http://testserver/api/v1/posts/{draft.slug}/?preview=")
    assert Client().get(response["Location"]).json()["title"] == "Moths"  # anyone holding the link


def test_the_preview_button_opens_the_frontend_preview_page_when_there_is_one(admin_client, settings):
    settings.FRONTEND_PREVIEW_URL = "https://museum.example/preview/{type}/{slug}?token={token}"
    organism = OrganismFactory(is_published=False, slug="lophophorus-impejanus")
    response = admin_client.get(reverse("admin:organisms_organism_preview", args=[organism.pk]))
    prefix = "https://museum.example/preview/organism/lophophorus-impejanus?token="
    assert response["Location"].startswith(prefix)
    token = response["Location"].removeprefix(prefix)
    assert Client().get(f"/api/v1/organisms/{organism.slug}/", {"preview": token}).status_code == 200


def test_the_preview_button_needs_the_view_permission():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_tag"))
    client = Client()
    client.force_login(user)
    draft = PostFactory(status="draft")
    assert client.get(reverse("admin:blogs_post_preview", args=[draft.pk])).status_code == 403
