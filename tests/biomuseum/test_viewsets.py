"""biomuseum/viewsets.py on its own: ContentViewSet's throttles, methods, permissions, lookups, `represent`
and the page-cache declaration, through a throwaway viewset over organisms."""

from types import SimpleNamespace

import pytest
from django.urls import Resolver404
from rest_framework import serializers
from rest_framework.routers import SimpleRouter
from rest_framework.test import APIRequestFactory, force_authenticate

from biomuseum import ratelimits
from biomuseum.pagecache import CachePolicy
from biomuseum.pagination import KeysetPagination
from biomuseum.queryparams import QueryParamsSerializer
from biomuseum.serializers import SparseFieldsMixin
from biomuseum.throttles import PublicReadThrottle, StaffWriteThrottle
from biomuseum.urls import router
from biomuseum.viewsets import ContentViewSet
from organisms.models import Organism
from tests.factories import OrganismFactory, UserFactory

pytestmark = pytest.mark.django_db

requests = APIRequestFactory()


class ThingSerializer(SparseFieldsMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="organism-detail", lookup_field="slug")

    class Meta:
        model = Organism
        fields = ["slug", "url", "scientific_name", "common_name"]


class ThingParams(QueryParamsSerializer):
    fields = serializers.CharField(required=False)


class ThingPages(KeysetPagination):
    ordering = ("slug",)


class ThingViewSet(ContentViewSet):
    """The contract a content viewset fills in: its serializers and list parameters, a selector per read, a
    service per write (here the serializer's own save, for brevity)."""

    queryset = Organism.objects.all()
    list_serializer_class = detail_serializer_class = write_serializer_class = ThingSerializer
    list_params = ThingParams
    pagination_class = ThingPages

    def list_queryset(self, params: dict):
        return Organism.objects.order_by("slug")

    def staff_detail_queryset(self):
        return Organism.objects.all()

    def perform_create(self, serializer):
        return serializer.save()

    def perform_update(self, serializer):
        return serializer.save()


things = ThingViewSet.as_view({"get": "list", "post": "create"})
thing = ThingViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"})


def call(view, method: str, path: str, data=None, user=None, **extra):
    request = getattr(requests, method.lower())(path, data, format="json", **extra)
    if user is not None:
        force_authenticate(request, user=user)
    slug = path.rstrip("/").rsplit("/", 1)[-1]
    return view(request, slug=slug) if view is thing else view(request)


@pytest.fixture
def kiwi():
    return OrganismFactory(slug="apteryx-mantelli", scientific_name="Apteryx mantelli", common_name="Kiwi")


@pytest.fixture
def tight_limits(settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("2/m",), "staff-write": ("1/m",)}


# --- throttles ---


@pytest.mark.parametrize(
    "method, throttle",
    [
        ("GET", PublicReadThrottle),
        ("HEAD", PublicReadThrottle),
        ("OPTIONS", PublicReadThrottle),
        ("POST", StaffWriteThrottle),
        ("PATCH", StaffWriteThrottle),
        ("DELETE", StaffWriteThrottle),
        ("PUT", StaffWriteThrottle),
    ],
)
def test_get_throttles_reads_count_as_public_reads_and_the_rest_as_staff_writes(method, throttle):
    view = ThingViewSet()
    view.request = SimpleNamespace(method=method)
    throttles = view.get_throttles()
    assert [type(t) for t in throttles] == [throttle]


def test_anonymous_reads_are_limited_across_list_retrieve_and_head(kiwi, tight_limits):
    responses = [
        call(things, "GET", "/api/things/"),
        call(thing, "HEAD", f"/api/things/{kiwi.slug}/"),
        call(thing, "GET", f"/api/things/{kiwi.slug}/"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in responses] == ["1", "0", "0"]
    assert all(r["RateLimit-Limit"] == "2" for r in responses)
    limited = responses[2]
    assert limited.data["error"]["code"] == "throttled"
    assert int(limited["Retry-After"]) >= 1
    assert "Retry-After" not in responses[0]


def test_options_is_neither_counted_nor_limited(kiwi, tight_limits):
    responses = [call(things, "OPTIONS", "/api/things/") for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 4
    assert all("RateLimit-Limit" not in r for r in responses)
    assert call(things, "GET", "/api/things/")["RateLimit-Remaining"] == "1"  # the budget is untouched


def test_signed_in_reads_are_not_counted_as_public_reads(kiwi, tight_limits, staff_with):
    curator = staff_with()
    responses = [call(things, "GET", "/api/things/", user=curator) for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 4
    assert all("RateLimit-Limit" not in r for r in responses)


def test_reads_the_page_cache_counted_are_not_counted_again(kiwi, tight_limits):
    counted = {ratelimits.COUNTED_BY_PAGE_CACHE: True}
    responses = [call(things, "GET", "/api/things/", **counted) for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 4
    assert all("RateLimit-Limit" not in r for r in responses)
    assert call(things, "GET", "/api/things/")["RateLimit-Remaining"] == "1"


def test_staff_writes_are_limited_per_user_with_headers(kiwi, tight_limits, staff_with):
    curator = staff_with("organisms.change_organism")
    first = call(thing, "PATCH", f"/api/things/{kiwi.slug}/", {"common_name": "Brown kiwi"}, user=curator)
    second = call(thing, "PATCH", f"/api/things/{kiwi.slug}/", {"common_name": "Tokoeka"}, user=curator)
    assert first.status_code == 200
    assert first["RateLimit-Limit"] == "1" and first["RateLimit-Remaining"] == "0"
    assert second.status_code == 429
    assert int(second["Retry-After"]) >= 1
    kiwi.refresh_from_db()
    assert kiwi.common_name == "Brown kiwi"
    other = staff_with("organisms.change_organism")
    assert call(thing, "PATCH", f"/api/things/{kiwi.slug}/", {"common_name": "Roroa"}, user=other).status_code == 200


def test_no_rate_limit_headers_when_rate_limits_are_off(kiwi, settings):
    settings.RATELIMIT_ENABLE = False
    response = call(things, "GET", "/api/things/")
    assert response.status_code == 200
    assert not [name for name in response.headers if name.lower().startswith(("ratelimit", "retry-after"))]


# --- methods and permissions ---


def test_anonymous_reads_list_and_retrieve(kiwi):
    listed = call(things, "GET", "/api/things/")
    assert listed.status_code == 200
    assert [row["slug"] for row in listed.data["results"]] == [kiwi.slug]
    detail = call(thing, "GET", f"/api/things/{kiwi.slug}/")
    assert detail.status_code == 200
    assert detail.data["scientific_name"] == "Apteryx mantelli"


def test_unknown_slug_is_a_404_envelope(kiwi):
    response = call(thing, "GET", "/api/things/no-such-thing/")
    assert response.status_code == 404
    assert response.data["error"]["status"] == 404
    assert response.data["error"]["code"] == "not_found"


@pytest.mark.parametrize("permissions", [(), ("organisms.change_organism",)])
def test_put_is_a_405_even_for_staff_who_may_change(kiwi, staff_with, permissions):
    user = staff_with(*permissions) if permissions else None
    response = call(thing, "PUT", f"/api/things/{kiwi.slug}/", {"common_name": "Replaced"}, user=user)
    assert response.status_code == 405
    allowed = {method.strip() for method in response["Allow"].split(",")}
    assert "PUT" not in allowed
    assert {"GET", "PATCH", "DELETE"} <= allowed
    kiwi.refresh_from_db()
    assert kiwi.common_name == "Kiwi"


def test_http_method_names_have_no_put():
    assert "put" not in ContentViewSet.http_method_names
    assert {"get", "post", "patch", "delete", "head", "options"} == set(ContentViewSet.http_method_names)


@pytest.mark.parametrize(
    "method, view, path, data",
    [
        ("POST", things, "/api/things/", {"slug": "new-one", "scientific_name": "Novus one", "common_name": "New"}),
        ("PATCH", thing, "/api/things/apteryx-mantelli/", {"common_name": "Changed"}),
        ("DELETE", thing, "/api/things/apteryx-mantelli/", None),
    ],
)
def test_anonymous_writes_are_refused_and_change_nothing(kiwi, method, view, path, data):
    response = call(view, method, path, data)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert list(Organism.objects.values_list("slug", "common_name")) == [("apteryx-mantelli", "Kiwi")]


@pytest.mark.parametrize(
    "method, view, path, data",
    [
        ("POST", things, "/api/things/", {"slug": "new-one", "scientific_name": "Novus one", "common_name": "New"}),
        ("PATCH", thing, "/api/things/apteryx-mantelli/", {"common_name": "Changed"}),
        ("DELETE", thing, "/api/things/apteryx-mantelli/", None),
    ],
)
def test_writes_by_staff_without_the_model_permission_are_a_403(kiwi, staff_with, method, view, path, data):
    response = call(view, method, path, data, user=staff_with("organisms.view_organism"))
    assert response.status_code == 403
    assert list(Organism.objects.values_list("slug", "common_name")) == [("apteryx-mantelli", "Kiwi")]


def test_writes_by_staff_with_the_model_permissions(kiwi, staff_with):
    curator = staff_with("organisms.add_organism", "organisms.change_organism", "organisms.delete_organism")
    body = {"slug": "nestor-notabilis", "scientific_name": "Nestor notabilis", "common_name": "Kea"}
    assert call(things, "POST", "/api/things/", body, user=curator).status_code == 201
    patched = call(thing, "PATCH", f"/api/things/{kiwi.slug}/", {"common_name": "Brown kiwi"}, user=curator)
    assert patched.status_code == 200 and patched.data["common_name"] == "Brown kiwi"
    assert call(thing, "DELETE", f"/api/things/{kiwi.slug}/", user=curator).status_code == 204
    assert list(Organism.objects.values_list("slug", flat=True)) == ["nestor-notabilis"]


def test_non_staff_user_holding_the_permission_may_not_write(kiwi):
    member = UserFactory(is_staff=False, permissions=["organisms.change_organism"])
    response = call(thing, "PATCH", f"/api/things/{kiwi.slug}/", {"common_name": "Changed"}, user=member)
    assert response.status_code == 403


# --- lookups ---


@pytest.fixture
def detail_pattern():
    router = SimpleRouter()
    router.register("things", ThingViewSet, basename="thing")
    (pattern,) = [p for p in router.urls if p.name == "thing-detail"]
    return pattern


@pytest.mark.parametrize("slug", ["apteryx-mantelli", "A_b-9", "x"])
def test_detail_route_takes_slugs(detail_pattern, slug):
    match = detail_pattern.resolve(f"things/{slug}/")
    assert match is not None and match.kwargs == {"slug": slug}


@pytest.mark.parametrize("slug", ["a.b", "a%20b", "a b", "kiwi~1", "ōtorohanga", ""])
def test_detail_route_refuses_what_is_no_slug(detail_pattern, slug):
    try:
        match = detail_pattern.resolve(f"things/{slug}/")
    except Resolver404:
        match = None
    assert match is None


# --- represent ---


def test_represent_gives_every_field_by_default_with_absolute_links(kiwi):
    view = ThingViewSet(request=requests.get("/api/things/"), format_kwarg=None, kwargs={})
    data = view.represent(ThingSerializer, kiwi)
    assert set(data) == {"slug", "url", "scientific_name", "common_name"}
    assert data["url"] == f"http://testserver/api/v1/organisms/{kiwi.slug}/"


def test_represent_keeps_only_the_fields_asked_for(kiwi):
    other = OrganismFactory()
    view = ThingViewSet(request=requests.get("/api/things/"), format_kwarg=None, kwargs={})
    rows = view.represent(ThingSerializer, [kiwi, other], many=True, fields=["slug", "url"])
    assert [set(row) for row in rows] == [{"slug", "url"}, {"slug", "url"}]
    assert [row["slug"] for row in rows] == [kiwi.slug, other.slug]


# --- the page-cache declaration ---


def test_page_cache_declares_nothing_by_default():
    assert ContentViewSet.page_cache == {}
    assert ThingViewSet.page_cache == {}


def test_every_page_cache_declaration_names_a_read_action_of_its_viewset():
    """A typo in an action name would silently leave that page uncached; a write must never be cached."""
    content_viewsets = [viewset for _, viewset, _ in router.registry if issubclass(viewset, ContentViewSet)]
    assert content_viewsets
    for viewset in content_viewsets:
        reads = {
            route.mapping["get"]
            for route in router.get_routes(viewset)
            if "get" in route.mapping and hasattr(viewset, route.mapping["get"])
        }
        assert viewset.page_cache, viewset
        assert set(viewset.page_cache) <= reads, viewset
        for policy in viewset.page_cache.values():
            assert isinstance(policy, CachePolicy)
            assert issubclass(policy.params, QueryParamsSerializer)
            assert policy.families
