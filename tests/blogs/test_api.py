from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from blogs.markup import MAX_SOURCE_LENGTH
from blogs.models import AuthorProfile, Post, PostStatus

from ..factories import CoverImageFactory, OrganismFactory, PostFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/posts/"


def detail_url(slug: str) -> str:
    return f"/api/v1/posts/{slug}/"


def assert_error(response, status: int) -> dict:
    body = response.json()
    assert response.status_code == status
    assert set(body) >= {"error", "request_id"}
    assert body["error"]["status"] == status
    assert body["request_id"] == response["X-Request-ID"]
    return body["error"]


def walk(client: APIClient, url: str, link: str) -> tuple[list[str], dict]:
    """Follow `link` (next or previous) from `url` to the end; the slugs in display order, and the last page."""
    slugs, page = [], client.get(url).json()
    pages = [page]
    while page[link]:
        page = client.get(page[link]).json()
        pages.append(page)
    ordered = pages if link == "next" else list(reversed(pages))
    for each in ordered:
        slugs.extend(post["slug"] for post in each["results"])
    return slugs, page


def last_page_url(client: APIClient, url: str) -> str:
    page = client.get(url).json()
    while page["next"]:
        url = page["next"]
        page = client.get(url).json()
    return url


# --- reading ---


def test_post_list_shows_only_public_posts(api_client):
    public = PostFactory()
    PostFactory(status=PostStatus.DRAFT, published_at=None)
    PostFactory(published_at=timezone.now() + timedelta(hours=2))

    response = api_client.get(LIST_URL)

    assert response.status_code == 200
    assert [post["slug"] for post in response.json()["results"]] == [public.slug]


def test_post_list_item_shape(api_client):
    author = UserFactory(first_name="Mary", last_name="Anning")
    post = PostFactory(author=author, title="Ichthyosaurs")
    post.tags.set([TagFactory(name="Fossils")])
    CoverImageFactory(post=post)

    item = api_client.get(LIST_URL).json()["results"][0]

    assert set(item) == {"slug", "url", "title", "excerpt", "author", "published_at", "tags", "cover"}
    assert item["url"] == f"http://testserver/api/v1/posts/{post.slug}/"
    assert item["author"] == "Mary Anning"
    assert item["tags"] == ["Fossils"]
    assert (
        item["cover"]["srcset"]["webp"]
        == "http://testserver/media/r/c-320.webp 320w, http://testserver/media/r/c-640.webp 640w"
    )
    assert "original" not in item["cover"]


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"status": PostStatus.DRAFT, "published_at": None}, id="draft"),
        pytest.param({"status": PostStatus.DRAFT, "published_at": timezone.now() - timedelta(days=9)}, id="withdrawn"),
        pytest.param({"published_at": timezone.now() + timedelta(days=1)}, id="scheduled"),
    ],
)
def test_post_detail_hides_posts_that_are_not_public(api_client, fields):
    post = PostFactory(**fields)

    response = api_client.get(detail_url(post.slug))

    error = assert_error(response, 404)
    assert error["code"] == "not_found"
    assert post.title not in response.content.decode()


def test_post_detail_shows_a_public_post(api_client):
    post = PostFactory(body="## Fins\n\n*wet*")
    shown, hidden = OrganismFactory(), OrganismFactory(is_published=False)
    post.related_organisms.set([shown, hidden])

    response = api_client.get(detail_url(post.slug))

    body = response.json()
    assert response.status_code == 200
    assert body["body_html"] == "<h2>Fins</h2>\n<p><em>wet</em></p>"
    assert [organism["slug"] for organism in body["related_organisms"]] == [shown.slug]
    assert body["related_organisms"][0]["url"] == f"http://testserver/api/v1/organisms/{shown.slug}/"


def test_post_cover_without_alt_text_is_not_shown(api_client):
    described, undescribed = PostFactory(slug="described"), PostFactory(slug="undescribed")
    CoverImageFactory(post=described, alt_text="A moth on bark")
    CoverImageFactory(post=undescribed, alt_text="")

    covers = {post["slug"]: post["cover"] for post in api_client.get(LIST_URL).json()["results"]}

    assert covers["described"]["alt_text"] == "A moth on bark"
    assert covers["undescribed"] is None
    assert api_client.get(detail_url("undescribed")).json()["cover"] is None


def test_post_author_is_the_display_name_then_the_full_name_then_the_museum_staff(api_client, settings):
    settings.MUSEUM_NAME = "Natural History Museum"
    profiled = UserFactory(username="curator", first_name="Mary", last_name="Anning")
    AuthorProfile.objects.create(user=profiled, display_name="Dr Mary Anning")
    PostFactory(slug="by-display-name", author=profiled)
    PostFactory(slug="by-full-name", author=UserFactory(username="curator2", first_name="Gilbert", last_name="White"))
    PostFactory(slug="by-login-only", author=UserFactory(username="curator3"))

    listed = {post["slug"]: post["author"] for post in api_client.get(LIST_URL).json()["results"]}
    detail = api_client.get(detail_url("by-display-name")).json()

    assert listed == {
        "by-display-name": "Dr Mary Anning",
        "by-full-name": "Gilbert White",
        "by-login-only": "Natural History Museum staff",
    }
    assert detail["author"] == "Dr Mary Anning"


def test_post_list_with_author_profiles_costs_the_same_queries(api_client, django_assert_max_num_queries):
    for number in range(5):
        author = UserFactory()
        AuthorProfile.objects.create(user=author, display_name=f"Author {number}")
        PostFactory(author=author)

    with django_assert_max_num_queries(3):  # posts with authors and profiles, tags, covers
        assert len(api_client.get(LIST_URL).json()["results"]) == 5


def test_post_detail_unknown_slug_is_a_json_404(api_client):
    error = assert_error(api_client.get(detail_url("no-such-post")), 404)

    assert error["code"] == "not_found"


def test_post_list_pagination_walks_forwards_and_back_without_gaps_or_duplicates(api_client):
    now = timezone.now().replace(microsecond=0)
    # Groups of three posts share a publication time, so the id has to break the ties.
    posts = [PostFactory(published_at=now - timedelta(hours=index // 3)) for index in range(11)]
    PostFactory(status=PostStatus.DRAFT, published_at=None)
    PostFactory(published_at=now + timedelta(days=1))
    expected = [post.slug for post in sorted(posts, key=lambda p: (p.published_at, p.pk), reverse=True)]

    forwards, last_page = walk(api_client, f"{LIST_URL}?page_size=3", "next")
    assert forwards == expected
    assert last_page["next"] is None
    assert len(last_page["results"]) == 2

    backwards, first_page = walk(api_client, last_page_url(api_client, f"{LIST_URL}?page_size=3"), "previous")
    assert backwards == expected
    assert first_page["previous"] is None
    assert [post["slug"] for post in first_page["results"]] == expected[:3]


def test_post_list_first_page_has_no_previous_link(api_client):
    PostFactory.create_batch(3)

    page = api_client.get(f"{LIST_URL}?page_size=2").json()

    assert page["previous"] is None
    assert page["next"] is not None


def test_post_list_tampered_cursor_is_a_400(api_client):
    PostFactory.create_batch(3)
    next_url = api_client.get(f"{LIST_URL}?page_size=2").json()["next"]

    error = assert_error(api_client.get(next_url.replace("cursor=", "cursor=x")), 400)

    assert "cursor" in error["fields"]


def test_post_list_filters_by_tag(api_client):
    birds = TagFactory(name="Birds", slug="birds")
    tagged = PostFactory()
    tagged.tags.set([birds])
    PostFactory()

    response = api_client.get(f"{LIST_URL}?tag=birds")

    assert [post["slug"] for post in response.json()["results"]] == [tagged.slug]


def test_post_list_search(api_client):
    wanted = PostFactory(title="Barn owls at dusk")
    PostFactory(title="Moths")

    response = api_client.get(f"{LIST_URL}?search=OWLS")

    assert [post["slug"] for post in response.json()["results"]] == [wanted.slug]


def test_post_list_sparse_fields(api_client):
    PostFactory.create_batch(2)

    response = api_client.get(f"{LIST_URL}?fields=slug,title")

    assert response.status_code == 200
    assert [set(post) for post in response.json()["results"]] == [{"slug", "title"}] * 2


def test_post_detail_sparse_fields(api_client):
    post = PostFactory()

    response = api_client.get(f"{detail_url(post.slug)}?fields=title,body_html")

    assert response.json() == {"title": post.title, "body_html": post.body_html}


def test_post_list_unknown_field_is_a_400(api_client):
    error = assert_error(api_client.get(f"{LIST_URL}?fields=slug,body"), 400)

    assert "fields" in error["fields"]


@pytest.mark.parametrize("query", ["tags=birds", "ordering=title", "page=2"])
def test_post_list_unknown_query_parameter_is_a_400(api_client, query):
    name = query.split("=")[0]

    error = assert_error(api_client.get(f"{LIST_URL}?{query}"), 400)

    assert error["code"] == "invalid"
    assert name in error["fields"]


def test_post_detail_unknown_query_parameter_is_a_400(api_client):
    post = PostFactory()

    error = assert_error(api_client.get(f"{detail_url(post.slug)}?page_size=5"), 400)

    assert "page_size" in error["fields"]


def test_post_list_ignores_tracking_parameters(api_client):
    PostFactory()

    response = api_client.get(f"{LIST_URL}?utm_source=newsletter&fbclid=abc")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


# --- writing ---


def post_body(**overrides) -> dict:
    return {"title": "Moths at night", "body": "## Light traps\n\nThey *come*.", **overrides}


def test_post_create_anonymous_is_a_401(api_client):
    response = api_client.post(LIST_URL, post_body(), format="json")

    error = assert_error(response, 401)
    assert error["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"
    assert not Post.objects.exists()


def test_post_create_staff_without_permission_is_a_403(token_client):
    client = token_client("blogs.change_post", "blogs.delete_post")

    assert_error(client.post(LIST_URL, post_body(), format="json"), 403)
    assert not Post.objects.exists()


def test_post_create_non_staff_with_permission_is_a_403(token_client):
    client = token_client("blogs.add_post", is_staff=False)

    assert_error(client.post(LIST_URL, post_body(), format="json"), 403)
    assert not Post.objects.exists()


def test_post_create_staff_with_permission_creates_a_draft_by_them(token_client):
    client = token_client("blogs.add_post")
    fox = OrganismFactory(slug="vulpes-vulpes")

    response = client.post(
        LIST_URL, post_body(tags=["Moths", "night"], related_organisms=["vulpes-vulpes"]), format="json"
    )

    assert response.status_code == 201
    post = Post.objects.get()
    assert post.author == client.user
    assert post.slug == "moths-at-night"
    assert post.status == PostStatus.DRAFT
    assert list(post.related_organisms.all()) == [fox]
    assert sorted(post.tags.values_list("name", flat=True)) == ["Moths", "night"]
    body = response.json()
    assert body["slug"] == "moths-at-night"
    assert body["author"] == "BioMuseum staff"  # no display name, no full name: never the login name
    assert body["body_html"] == "<h2>Light traps</h2>\n<p>They <em>come</em>.</p>"
    assert sorted(body["tags"]) == ["Moths", "night"]
    assert [organism["slug"] for organism in body["related_organisms"]] == ["vulpes-vulpes"]


def test_post_create_published_without_a_time_is_public_now(token_client, api_client):
    client = token_client("blogs.add_post")

    response = client.post(LIST_URL, post_body(status="published"), format="json")

    assert response.status_code == 201
    assert response.json()["published_at"] is not None
    assert api_client.get(detail_url("moths-at-night")).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("author", 1),
        ("body_html", "<script>alert(1)</script>"),
        ("created_at", "2001-01-01T00:00:00Z"),
        ("updated_at", "2001-01-01T00:00:00Z"),
        ("id", 99),
    ],
)
def test_post_create_server_owned_field_is_a_400_naming_it(token_client, field, value):
    client = token_client("blogs.add_post")

    error = assert_error(client.post(LIST_URL, post_body(**{field: value}), format="json"), 400)

    assert error["fields"] == {field: ["This field cannot be set."]}
    assert not Post.objects.exists()


def test_post_create_unknown_organism_slug_is_a_400(token_client):
    client = token_client("blogs.add_post")

    error = assert_error(client.post(LIST_URL, post_body(related_organisms=["no-such-thing"]), format="json"), 400)

    assert "related_organisms" in error["fields"]
    assert not Post.objects.exists()


def test_post_create_taken_slug_is_a_400(token_client):
    PostFactory(slug="moths-at-night")
    client = token_client("blogs.add_post")

    error = assert_error(client.post(LIST_URL, post_body(slug="moths-at-night"), format="json"), 400)

    assert "slug" in error["fields"]
    assert Post.objects.count() == 1


def test_post_create_without_a_body_is_a_400(token_client):
    client = token_client("blogs.add_post")

    error = assert_error(client.post(LIST_URL, {"title": "Empty"}, format="json"), 400)

    assert "body" in error["fields"]


def test_post_create_body_over_the_length_cap_is_a_400(token_client):
    client = token_client("blogs.add_post")

    error = assert_error(client.post(LIST_URL, post_body(body="x" * (MAX_SOURCE_LENGTH + 1)), format="json"), 400)

    assert list(error["fields"]) == ["body"]
    assert not Post.objects.exists()
    assert client.post(LIST_URL, post_body(body="x" * MAX_SOURCE_LENGTH), format="json").status_code == 201


def test_post_update_staff_with_change_permission(token_client):
    post = PostFactory(title="Old", body="old")
    client = token_client("blogs.change_post")
    owl = OrganismFactory(slug="tyto-alba")

    response = client.patch(
        detail_url(post.slug), {"title": "New", "body": "**new**", "related_organisms": ["tyto-alba"]}, format="json"
    )

    assert response.status_code == 200
    post.refresh_from_db()
    assert post.title == "New"
    assert post.body_html == "<p><strong>new</strong></p>"
    assert list(post.related_organisms.all()) == [owl]
    assert response.json()["body_html"] == "<p><strong>new</strong></p>"


def test_post_update_reaches_drafts(token_client):
    post = PostFactory(status=PostStatus.DRAFT, published_at=None)
    client = token_client("blogs.change_post")

    response = client.patch(detail_url(post.slug), {"status": "published"}, format="json")

    assert response.status_code == 200
    post.refresh_from_db()
    assert post.is_public


def test_post_update_keeps_the_author(token_client):
    author = UserFactory()
    post = PostFactory(author=author)
    client = token_client("blogs.change_post")

    client.patch(detail_url(post.slug), {"title": "Edited"}, format="json")

    post.refresh_from_db()
    assert post.author == author


def test_post_update_of_a_post_whose_author_is_gone(token_client):
    post = PostFactory()
    post.author.delete()
    client = token_client("blogs.change_post")

    response = client.patch(detail_url(post.slug), {"title": "Still editable"}, format="json")

    assert response.status_code == 200
    assert Post.objects.get(pk=post.pk).title == "Still editable"


def test_post_update_author_is_a_400(token_client):
    post = PostFactory()
    client = token_client("blogs.change_post")

    error = assert_error(client.patch(detail_url(post.slug), {"author": client.user.pk}, format="json"), 400)

    assert error["fields"] == {"author": ["This field cannot be set."]}


def test_post_update_without_change_permission_is_a_403(token_client):
    post = PostFactory(title="Untouched")
    client = token_client("blogs.add_post")

    assert_error(client.patch(detail_url(post.slug), {"title": "Touched"}, format="json"), 403)
    assert Post.objects.get(pk=post.pk).title == "Untouched"


def test_post_put_is_not_allowed(token_client):
    post = PostFactory()
    client = token_client("blogs.change_post")

    assert_error(client.put(detail_url(post.slug), post_body(), format="json"), 405)


def test_post_delete_staff_with_delete_permission(token_client):
    post = PostFactory()
    client = token_client("blogs.delete_post")

    response = client.delete(detail_url(post.slug))

    assert response.status_code == 204
    assert not Post.objects.exists()


def test_post_delete_without_delete_permission_is_a_403(token_client):
    post = PostFactory()
    client = token_client("blogs.change_post")

    assert_error(client.delete(detail_url(post.slug)), 403)
    assert Post.objects.filter(pk=post.pk).exists()


def test_post_create_by_session_without_csrf_token_is_refused():
    user = UserFactory(is_staff=True, permissions=["blogs.add_post"])
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=user.username, password="correct horse battery staple")

    error = assert_error(client.post(LIST_URL, post_body(), format="json"), 403)

    assert "CSRF" in error["message"]
    assert not Post.objects.exists()


def test_post_create_by_session_with_csrf_token_is_accepted():
    user = UserFactory(is_staff=True, permissions=["blogs.add_post"])
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=user.username, password="correct horse battery staple")
    client.get(reverse("admin:index"))  # any page with a form hands out the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post(LIST_URL, post_body(), format="json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201
    assert Post.objects.get().author == user
