"""Authorization, after the OWASP API Security Top 10 (2023), through the deployed WSGI application.

The endpoints are found by walking the URL patterns (and cross-checked with the OpenAPI schema), so an
endpoint added later is refused anonymously, or classified here on purpose, or these tests fail.
Rate limits on sign-in (tests/biomuseum/test_ratelimits.py) and `check --deploy` (tests/biomuseum/test_settings.py and
.ci/run) are covered where they live; docs/RELIABILITY.md lists them with the rest.
"""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from biomuseum import pagecache
from blogs import services as blog_services
from blogs.models import Post, PostStatus
from blogs.serializers import PostDetailSerializer, PostWriteSerializer
from ops.models import CacheWarmup
from organisms import services as organism_services
from organisms.models import Organism, OrganismImage
from organisms.serializers import (
    ImageStatusSerializer,
    ImageUploadSerializer,
    OrganismDetailSerializer,
    OrganismWriteSerializer,
)
from tests import imagefiles
from tests.factories import OrganismFactory, OrganismImageFactory, PostFactory, TagFactory, UserFactory

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNDOCUMENTED = ("head", "options")  # answered for every GET route / by DRF's metadata; not operations
# Writes anyone may make: signing in, and the newsletter's double opt-in (rate limited, same answer for all).
ANONYMOUS_WRITES = {
    ("api-token", "POST"),
    ("subscribe", "POST"),
    ("subscription-confirm", "POST"),
    ("subscription-unsubscribe", "POST"),
}
# Reads anyone may make. Every other GET under /api/ and /ops/ must refuse an anonymous caller.
PUBLIC_READS = {
    "organism-list",
    "organism-detail",
    "organism-autocomplete",
    "taxon-list",
    "taxon-detail",
    "taxon-autocomplete",
    "dwca-export",
    "post-list",
    "post-detail",
    "subscription-confirm",
    "subscription-unsubscribe",
    "api-schema",
    "api-docs",
    "api-health",
    "ops-health",
    "ops-ready",
}
# What a staff account must hold for each write (and staff-only read); anything else is not enough.
REQUIRED_PERMISSION = {
    ("organism-list", "POST"): "organisms.add_organism",
    ("organism-detail", "PATCH"): "organisms.change_organism",
    ("organism-detail", "DELETE"): "organisms.delete_organism",
    ("taxon-list", "POST"): "organisms.add_taxon",
    ("taxon-detail", "PATCH"): "organisms.change_taxon",
    ("organism-upload-image", "POST"): "organisms.add_organismimage",
    ("organism-reprocess-image", "POST"): "organisms.change_organismimage",
    ("organism-image-status", "GET"): "organisms.view_organismimage",
    ("post-list", "POST"): "blogs.add_post",
    ("post-detail", "PATCH"): "blogs.change_post",
    ("post-detail", "DELETE"): "blogs.delete_post",
}


def named_routes() -> dict[str, tuple[URLPattern, list[str]]]:
    """{url name: (pattern, methods its view answers)} for every named route under /api/ and /ops/."""
    found = {}

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and pattern.name and route.startswith(("api/", "ops/")):
                found[pattern.name] = (pattern, methods_of(pattern.callback))

    walk(get_resolver().url_patterns, "")
    return found


def methods_of(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if actions:  # a viewset route: the methods the router bound that the viewset accepts (no PUT: 405)
        # (DRF adds "head" to a route's actions the first time it serves one: not a method of its own.)
        return sorted(m.upper() for m in actions if m in view_class.http_method_names and m not in UNDOCUMENTED)
    if view_class is not None:
        return sorted(
            m.upper() for m in view_class.http_method_names if m not in UNDOCUMENTED and hasattr(view_class, m)
        )
    return []  # a plain function view declares nothing: see function_routes()


def url_for(name: str, pattern: URLPattern, values: dict[str, str]) -> str:
    return reverse(name, kwargs={key: values[key] for key in pattern.pattern.regex.groupindex})


def write_routes() -> set[tuple[str, str]]:
    return {(name, method) for name, (_, methods) in named_routes().items() for method in methods if method in WRITES}


def function_routes() -> list[str]:
    """Routes to plain function views (the ops probes and statistics): their methods are not declared."""
    return sorted(name for name, (_, methods) in named_routes().items() if not methods)


def call(wsgi, method: str, url: str, body: str = "{}", **headers):
    if method == "GET":
        return wsgi("GET", url, **headers)
    return wsgi(method, url, body, content_type="application/json", **headers)


@pytest.fixture
def content(db) -> dict[str, str]:
    """Something for every route to point at: URL keyword values by route family."""
    organism = OrganismFactory(slug="visible-fox")
    image = OrganismImageFactory(organism=organism)
    post = PostFactory(slug="public-post")
    organism_services.place_in_tree([organism])
    organism.refresh_from_db()
    return {"organism": organism.slug, "post": post.slug, "image_id": str(image.pk), "taxon": str(organism.taxon_id)}


def values_for(name: str, content: dict[str, str]) -> dict[str, str]:
    return {
        "slug": content["post" if name.startswith("post-") else "organism"],
        "image_id": content["image_id"],
        "id": content["taxon"],
    }


def snapshot() -> tuple:
    """What a refused write must leave untouched."""
    return (
        list(Organism.objects.order_by("pk").values_list("pk", "slug", "common_name", "is_published", "updated_at")),
        list(Post.objects.order_by("pk").values_list("pk", "slug", "title", "status", "updated_at")),
        list(OrganismImage.objects.order_by("pk").values_list("pk", "status", "attempts", "updated_at")),
    )


WRITE_BODY = json.dumps({"common_name": "Changed", "title": "Changed", "scientific_name": "Changed name"})


# --- inventory: what the URL patterns and the schema say ---


def test_authorization_route_walk_finds_every_known_endpoint():
    routes = named_routes()
    assert set(PUBLIC_READS) <= set(routes)
    assert {name for name, _ in ANONYMOUS_WRITES} <= set(routes)
    assert {name for name, _ in REQUIRED_PERMISSION} <= set(routes)
    assert {"ops-pools", "ops-metrics"} <= set(routes)


def test_authorization_every_protected_write_has_a_required_permission():
    """A new write endpoint fails here until it is classified: anonymous on purpose, or a named permission."""
    protected = write_routes() - ANONYMOUS_WRITES
    assert protected == {route for route in REQUIRED_PERMISSION if route[1] in WRITES}


@pytest.mark.django_db
def test_authorization_schema_agrees_with_the_routes(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    documented = {
        (path, method.upper()): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    routes = named_routes()
    templates = {}
    samples = {"slug": "sample-slug", "image_id": "987654321", "id": "123456789"}
    for name, (pattern, methods) in routes.items():
        url = url_for(name, pattern, samples)
        for key, sample in samples.items():
            url = url.replace(sample, "{" + key + "}")
        templates[name] = (url, methods)
    for name, (url, methods) in templates.items():
        if not url.startswith("/api/v1/"):
            continue
        for method in methods:
            operation = documented.get((url, method))
            assert operation is not None, f"{method} {url} ({name}) is not in the OpenAPI schema"
            anonymous = {} in operation.get("security", [])
            if method in WRITES:
                assert anonymous == ((name, method) in ANONYMOUS_WRITES), (method, url, operation.get("security"))
            else:
                assert anonymous == (name in PUBLIC_READS), (method, url, operation.get("security"))


# --- API2/API5: no credentials, no access ---


def test_authorization_every_write_is_refused_anonymously(wsgi, content):
    before = snapshot()
    refused = 0
    for name, method in sorted(write_routes() - ANONYMOUS_WRITES):
        pattern, _ = named_routes()[name]
        url = url_for(name, pattern, values_for(name, content))
        for body, content_type in ((WRITE_BODY, "application/json"), ("common_name=Changed", "multipart/form-data")):
            response = wsgi(method, url, body, content_type=content_type)
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.json()["error"]["code"] == "not_authenticated"
            refused += 1
    for name in function_routes():  # undeclared methods: no anonymous write may succeed
        pattern, _ = named_routes()[name]
        for method in sorted(WRITES):
            response = call(wsgi, method, url_for(name, pattern, values_for(name, content)), WRITE_BODY)
            assert response.status_code in (401, 403, 405), (method, name, response.status_code)
            refused += 1
    assert refused >= 2 * 8 + 4 * 4
    assert snapshot() == before


def test_authorization_writes_with_a_bad_token_or_a_forged_session_are_refused(wsgi, content):
    before = snapshot()
    credentials = [
        {"HTTP_AUTHORIZATION": "Token 0000000000000000000000000000000000000000"},
        {"HTTP_AUTHORIZATION": "Token "},
        {"HTTP_AUTHORIZATION": "Bearer not-the-ops-token"},
        {"HTTP_AUTHORIZATION": "Basic YWRtaW46YWRtaW4="},
        {"HTTP_COOKIE": "sessionid=forged; csrftoken=x"},
    ]
    for name, method in sorted(write_routes() - ANONYMOUS_WRITES):
        pattern, _ = named_routes()[name]
        url = url_for(name, pattern, values_for(name, content))
        for headers in credentials:
            response = wsgi(method, url, WRITE_BODY, content_type="application/json", **headers)
            assert response.status_code in (401, 403), (method, url, headers, response.status_code)
    assert snapshot() == before


def test_authorization_expired_token_is_refused(wsgi, content, settings):
    user = UserFactory(is_staff=True, is_superuser=True)
    token = Token.objects.create(user=user)
    Token.objects.filter(pk=token.pk).update(
        created=timezone.now() - timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS + 1)
    )
    before = snapshot()
    response = wsgi(
        "PATCH",
        f"/api/v1/organisms/{content['organism']}/",
        WRITE_BODY,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 401
    assert snapshot() == before


def test_authorization_non_public_reads_are_refused_anonymously(wsgi, content):
    """/ops/pools/, /ops/metrics, image job status, and whatever read is added without being made public."""
    checked = set()
    for name, (pattern, methods) in named_routes().items():
        if name in PUBLIC_READS or (methods and "GET" not in methods):
            continue
        url = url_for(name, pattern, values_for(name, content))
        response = wsgi("GET", url)
        assert response.status_code in (401, 403), (url, response.status_code)
        assert response.json()["error"]["status"] == response.status_code
        assert "public" not in response.get("Cache-Control", "")
        checked.add(name)
    assert {"ops-pools", "ops-metrics", "organism-image-status"} <= checked


def test_authorization_ops_endpoints_refuse_anonymous_writes_too(wsgi):
    for path in ("/ops/pools/", "/ops/metrics"):
        for method in ("POST", "PUT", "DELETE"):
            assert wsgi(method, path).status_code in (401, 403, 405), (method, path)


def test_authorization_admin_refuses_anonymous_callers(client, content):
    organism = Organism.objects.get(slug=content["organism"])
    before = snapshot()
    for url in ("/admin/", "/admin/organisms/organism/", f"/admin/organisms/organism/{organism.pk}/change/",
                "/admin/ops/cachewarmup/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    response = client.post(f"/admin/organisms/organism/{organism.pk}/change/", {"common_name": "Changed"})
    assert response.status_code in (302, 403)
    generations = pagecache.generations()
    for url, data in (("/admin/ops/cachewarmup/purge/", {"family": "organisms"}), ("/admin/ops/cachewarmup/warm/", {})):
        assert client.post(url, data).status_code in (302, 403), url  # the cache panel's actions
    assert snapshot() == before and pagecache.generations() == generations and not CacheWarmup.objects.exists()


# --- API5: a staff account without the model permission cannot use that function ---


def all_permissions_but(required: str) -> list[str]:
    app_label, codename = required.split(".")
    return [
        f"{permission.content_type.app_label}.{permission.codename}"
        for permission in Permission.objects.filter(content_type__app_label__in=("organisms", "blogs"))
        .select_related("content_type")
        .exclude(content_type__app_label=app_label, codename=codename)
    ]


def token_for(*permissions: str, is_staff: bool = True, **flags) -> str:
    user = UserFactory(is_staff=is_staff, permissions=list(permissions), **flags)
    return Token.objects.create(user=user).key


@pytest.mark.parametrize(
    ("route", "required"), sorted(REQUIRED_PERMISSION.items()), ids=[f"{n}-{m}" for n, m in sorted(REQUIRED_PERMISSION)]
)
def test_authorization_staff_without_the_permission_is_refused(wsgi, content, route, required):
    name, method = route
    pattern, _ = named_routes()[name]
    url = url_for(name, pattern, values_for(name, content))
    before = snapshot()

    token = token_for(*all_permissions_but(required))  # every organisms and blogs permission but this one
    response = call(wsgi, method, url, WRITE_BODY, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 403, (method, url, response.status_code)
    assert response.json()["error"]["code"] == "permission_denied"
    assert snapshot() == before

    not_staff = token_for(required, is_staff=False)  # the permission without staff status is not enough
    assert call(wsgi, method, url, HTTP_AUTHORIZATION=f"Token {not_staff}").status_code == 403
    assert snapshot() == before

    holder = token_for(required)  # the one permission alone is what gets past authorization
    response = call(wsgi, method, url, HTTP_AUTHORIZATION=f"Token {holder}")
    assert response.status_code not in (401, 403), (method, url, response.status_code)


def test_authorization_image_of_another_organism_is_not_reachable_through_this_one(wsgi, content):
    """API1: the organism in the path must own the image, for reading and for reprocessing."""
    other = OrganismFactory(slug="other-creature")
    token = token_for("organisms.view_organismimage", "organisms.change_organismimage")
    image_id = content["image_id"]
    before = snapshot()
    for method, url in (
        ("GET", f"/api/v1/organisms/{other.slug}/images/{image_id}/"),
        ("POST", f"/api/v1/organisms/{other.slug}/images/{image_id}/reprocess/"),
    ):
        assert wsgi(method, url, HTTP_AUTHORIZATION=f"Token {token}").status_code == 404, url
    assert snapshot() == before


# --- API3: server-owned properties cannot be set by any client, and private ones are never shown ---


def server_owned(output_serializer, write_serializer, model) -> set[str]:
    shown = set(output_serializer().fields)
    stored = {field.attname for field in model._meta.concrete_fields} | {field.name for field in model._meta.fields}
    writable = {name for name, field in write_serializer().fields.items() if not field.read_only}
    return (shown | stored) - writable


ORGANISM_OWNED = server_owned(OrganismDetailSerializer, OrganismWriteSerializer, Organism)
POST_OWNED = server_owned(PostDetailSerializer, PostWriteSerializer, Post)
IMAGE_OWNED = server_owned(ImageStatusSerializer, ImageUploadSerializer, OrganismImage)


def test_authorization_server_owned_field_lists_are_not_empty():
    assert {"created_at", "updated_at", "id", "images", "related_posts"} <= ORGANISM_OWNED
    assert {"author", "author_id", "body_html", "created_at", "notifications_queued_at"} <= POST_OWNED
    assert {"status", "error", "attempts", "content_hash", "job_id", "renditions", "original"} <= IMAGE_OWNED


@pytest.mark.parametrize("field", sorted(ORGANISM_OWNED | POST_OWNED | IMAGE_OWNED))
def test_authorization_server_owned_fields_are_refused_even_for_a_superuser(wsgi, content, field):
    token = token_for(is_superuser=True)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    before = snapshot()
    forged = "2000-01-01T00:00:00Z"
    attempts = []
    if field in ORGANISM_OWNED:
        create = {"common_name": "New", "scientific_name": "Novus creaturus", "kingdom": "Animalia", field: forged}
        attempts += [
            ("POST", "/api/v1/organisms/", create),
            ("PATCH", f"/api/v1/organisms/{content['organism']}/", {"habitat": "Hills", field: forged}),
        ]
    if field in POST_OWNED:
        attempts += [
            ("POST", "/api/v1/posts/", {"title": "New", "body": "Text", field: forged}),
            ("PATCH", f"/api/v1/posts/{content['post']}/", {"title": "Renamed", field: forged}),
        ]
    for method, url, data in attempts:
        response = wsgi(method, url, json.dumps(data), content_type="application/json", **auth)
        assert response.status_code == 400, (method, url, field, response.status_code)
        assert field in response.json()["error"]["fields"], (method, url, field)
    if field in IMAGE_OWNED:
        upload = {"file": SimpleUploadedFile("p.jpg", imagefiles.jpeg(64, 48), "image/jpeg"), field: "ready"}
        response = wsgi("POST", f"/api/v1/organisms/{content['organism']}/images/", upload, **auth)
        assert response.status_code == 400, (field, response.status_code)
        assert field in response.json()["error"]["fields"]
    assert snapshot() == before


@pytest.mark.django_db
def test_authorization_public_answers_show_no_private_data(wsgi):
    author = UserFactory(email="private.curator@example.org", first_name="", last_name="")
    organism = OrganismFactory(slug="visible-fox")
    image = OrganismImageFactory(organism=organism, content_hash="c0ffee" * 10, job_id="job-secret-123")
    post = PostFactory(author=author, slug="public-post")
    post.related_organisms.add(organism)
    private = [author.email, author.password, image.original.name, image.content_hash, image.job_id, "originals/"]
    for url in (
        "/api/v1/organisms/",
        "/api/v1/organisms/visible-fox/",
        "/api/v1/organisms/autocomplete/?q=Test",
        "/api/v1/posts/",
        "/api/v1/posts/public-post/",
    ):
        response = wsgi("GET", url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for secret in private:
            assert secret not in body, (url, secret)
    assert image.original.name.startswith("originals/")  # the check above looked for something real


# --- drafts, scheduled posts and unpublished organisms, by every public road, cached pages included ---

SECRETS = ("Secret draft", "secret-draft", "Embargoed post", "embargoed-post", "Hidden lynx", "hidden-lynx", "Lynx occ")
PUBLIC_ROADS = (
    "/api/v1/posts/",
    "/api/v1/posts/?page_size=100",
    "/api/v1/posts/?tag=news",
    "/api/v1/posts/?search=Secret",
    "/api/v1/posts/?search=Embargoed",
    "/api/v1/posts/?search=post&fields=slug,title",
    "/api/v1/posts/public-post/",
    "/api/v1/organisms/",
    "/api/v1/organisms/?search=lynx",
    "/api/v1/organisms/?search=Lynx&class=Mammalia",
    "/api/v1/organisms/?genus=Lynx",
    "/api/v1/organisms/autocomplete/?q=Hidden",
    "/api/v1/organisms/autocomplete/?q=Lynx",
    "/api/v1/organisms/visible-fox/",
    "/api/v1/organisms/visible-fox/?fields=slug,related_posts",
)
HIDDEN_PAGES = ("/api/v1/posts/secret-draft/", "/api/v1/posts/embargoed-post/", "/api/v1/organisms/hidden-lynx/")


def assert_nothing_hidden_shows(wsgi) -> list[str]:
    caches = []
    for url in PUBLIC_ROADS:
        response = wsgi("GET", url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for secret in SECRETS:
            assert secret not in body, (url, secret)
        caches.append(response.get("X-Cache"))
    for url in HIDDEN_PAGES:
        response = wsgi("GET", url)
        assert response.status_code == 404, url
        assert response.get("X-Cache") is None  # a 404 is never stored
    return caches


@pytest.mark.django_db(transaction=True)
def test_authorization_hidden_content_never_reaches_anonymous_callers_even_from_the_cache(wsgi, page_cache):
    visible = OrganismFactory(common_name="Visible fox", slug="visible-fox", scientific_name="Vulpes visibilis")
    hidden = OrganismFactory(
        common_name="Hidden lynx", slug="hidden-lynx", scientific_name="Lynx occultus", genus="Lynx", is_published=False
    )
    tag = TagFactory(name="news", slug="news")
    public = PostFactory(title="Public post", slug="public-post")
    draft = PostFactory(title="Secret draft", slug="secret-draft", status=PostStatus.DRAFT, published_at=None)
    scheduled = PostFactory(
        title="Embargoed post", slug="embargoed-post", published_at=timezone.now() + timedelta(days=1)
    )
    for post in (public, draft, scheduled):
        post.tags.add(tag)
        post.related_organisms.add(visible, hidden)

    assert set(assert_nothing_hidden_shows(wsgi)) == {"MISS"}  # rendered once...
    assert set(assert_nothing_hidden_shows(wsgi)) == {"HIT"}  # ...then served from the cache, just as clean
    assert "Public post" in wsgi("GET", "/api/v1/posts/").content.decode()  # the roads do lead somewhere
    assert "Visible fox" in wsgi("GET", "/api/v1/organisms/").content.decode()
    assert "Public post" in wsgi("GET", "/api/v1/organisms/visible-fox/").content.decode()

    # Made public, then withdrawn: the pages cached while it was public must not keep showing it.
    blog_services.post_publish(posts=Post.objects.filter(pk=draft.pk), user=None)
    organism_services.organism_update(organism=hidden, user=None, is_published=True)
    for url in ("/api/v1/posts/", "/api/v1/posts/?tag=news", "/api/v1/organisms/visible-fox/", "/api/v1/posts/"):
        assert "Secret draft" in wsgi("GET", url).content.decode(), url
    assert wsgi("GET", "/api/v1/organisms/autocomplete/?q=Hidden").json()["results"]
    assert wsgi("GET", "/api/v1/posts/secret-draft/").status_code == 200
    blog_services.post_unpublish(posts=Post.objects.filter(pk=draft.pk), user=None)
    organism_services.organism_update(organism=Organism.objects.get(pk=hidden.pk), user=None, is_published=False)
    assert_nothing_hidden_shows(wsgi)


@pytest.mark.django_db(transaction=True)
def test_authorization_staff_reads_never_fill_the_public_cache(wsgi, page_cache):
    PostFactory(title="Public post", slug="public-post")
    token = Token.objects.create(user=UserFactory(is_staff=True, is_superuser=True)).key
    staff = wsgi("GET", "/api/v1/posts/", HTTP_AUTHORIZATION=f"Token {token}")
    assert staff.status_code == 200
    assert staff["Cache-Control"] == "private, no-store"
    assert staff.get("X-Cache") is None
    assert wsgi("GET", "/api/v1/posts/")["X-Cache"] == "MISS"  # the staff answer was not stored for anyone
