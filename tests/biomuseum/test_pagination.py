"""biomuseum/pagination.py on its own: page sizes, signed cursors, ties broken by the unique ordering, links."""

from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.utils import timezone
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from biomuseum import pagination
from biomuseum.pagination import CURSOR_MAX_LENGTH, CURSOR_SALT, Cursor, KeysetPagination, parse_page_size
from blogs.models import Post
from organisms.models import Organism
from tests.factories import OrganismFactory, PostFactory

requests = APIRequestFactory()
THINGS = SimpleNamespace(basename="thing")
INVALID_CURSOR = ["Invalid cursor. Use the next or previous link of a page."]
PAGE_SIZE_ERROR = ["Must be a whole number from 1 to 100."]


def paginate(url: str, queryset, ordering=("scientific_name",), view=THINGS) -> tuple[KeysetPagination, list]:
    paginator = KeysetPagination(ordering)
    rows = paginator.paginate_queryset(queryset, Request(requests.get(url)), view)
    return paginator, rows


def scoped(ordering=("scientific_name",), view=THINGS, model=Organism) -> KeysetPagination:
    """A paginator bound to a view, as paginate_queryset binds it, for encoding and decoding alone."""
    paginator = KeysetPagination(ordering)
    paginator.paginate_queryset(model.objects.none(), Request(requests.get("/things/")), view)
    return paginator


def forged(scope: str, reverse, position) -> str:
    """Signed with the server's key and salt: only the payload is wrong."""
    return signing.dumps([scope, reverse, position], salt=CURSOR_SALT, compress=False)


def cursor_in(link: str) -> str:
    return parse_qs(urlsplit(link).query)["cursor"][0]


def walk(url: str, queryset, ordering, direction: str = "next") -> tuple[list[list[int]], str]:
    """Follow next (or previous) links to the end: the pages' primary keys, and the URL of the last page."""
    pages = []
    for _ in range(100):
        paginator, rows = paginate(url, queryset, ordering)
        pages.append([row.pk for row in rows])
        link = paginator.get_next_link() if direction == "next" else paginator.get_previous_link()
        if link is None:
            return pages, url
        url = link
    raise AssertionError("the links never end")


# --- page size ---


def test_parse_page_size_absent_or_empty_is_the_default(settings):
    settings.API_PAGE_SIZE = 7
    assert parse_page_size(None) == 7
    assert parse_page_size("") == 7


def test_parse_page_size_accepts_whole_numbers_and_caps_large_ones(settings):
    settings.API_MAX_PAGE_SIZE = 10
    assert parse_page_size("1") == 1
    assert parse_page_size("10") == 10
    assert parse_page_size("11") == 10
    assert parse_page_size("99999999999999999999999999") == 10


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "1.5", "1e3", " ", "0x10", "five", "1" + "0" * 5000])
def test_parse_page_size_refuses_what_is_not_a_positive_whole_number(raw):
    with pytest.raises(ValidationError) as caught:
        parse_page_size(raw)
    assert caught.value.detail["page_size"] == PAGE_SIZE_ERROR


@pytest.mark.django_db
def test_paginate_page_size_bounds(settings):
    settings.API_PAGE_SIZE = 2
    settings.API_MAX_PAGE_SIZE = 4
    OrganismFactory.create_batch(6)
    everything = Organism.objects.all()
    assert len(paginate("/things/", everything)[1]) == 2
    assert len(paginate("/things/?page_size=", everything)[1]) == 2
    assert len(paginate("/things/?page_size=3", everything)[1]) == 3
    assert len(paginate("/things/?page_size=1000", everything)[1]) == 4
    with pytest.raises(ValidationError) as caught:
        paginate("/things/?page_size=0", everything)
    assert caught.value.detail["page_size"] == PAGE_SIZE_ERROR


# --- cursors ---


def test_cursor_encode_decode_round_trip():
    paginator = scoped(("-published_at", "-id"), model=Post)
    for cursor in (
        Cursor(reverse=False, position=["2026-01-01T00:00:00.123456+00:00", 42]),
        Cursor(reverse=True, position=["2026-01-01T00:00:00+00:00", 1]),
    ):
        token = paginator.encode_cursor(cursor)
        assert paginator.decode_cursor(token) == cursor


def test_cursor_round_trip_keeps_text_that_needs_escaping():
    paginator = scoped()
    cursor = Cursor(reverse=False, position=['Ōtorohanga "kiwi", \\ & ? = # / 🐦'])
    assert paginator.decode_cursor(paginator.encode_cursor(cursor)) == cursor


def test_cursor_is_refused_by_another_view_or_ordering():
    token = scoped(("scientific_name",)).encode_cursor(Cursor(reverse=False, position=["A"]))
    assert scoped(("scientific_name",)).decode_cursor(token).position == ["A"]
    for other in (
        scoped(("scientific_name",), view=SimpleNamespace(basename="other")),
        scoped(("-scientific_name",)),
        scoped(("common_name",)),
    ):
        with pytest.raises(ValidationError) as caught:
            other.decode_cursor(token)
        assert caught.value.detail["cursor"] == INVALID_CURSOR


def test_cursor_tampered_truncated_or_spliced_is_refused():
    paginator = scoped()
    token = paginator.encode_cursor(Cursor(reverse=False, position=["Panthera leo"]))
    other = paginator.encode_cursor(Cursor(reverse=False, position=["Panthera tigris"]))
    payload, _, signature = token.rpartition(":")
    flipped = ("B" if token[0] == "A" else "A") + token[1:]
    spliced = f"{other.rpartition(':')[0]}:{signature}"
    unsalted = signing.dumps([paginator.scope, False, ["Panthera leo"]], compress=False)
    for bad in (token[:-1], token + "x", token[: len(token) // 2], payload, signature, flipped, spliced, unsalted):
        with pytest.raises(ValidationError) as caught:
            paginator.decode_cursor(bad)
        assert caught.value.detail["cursor"] == INVALID_CURSOR, bad


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(["thing:scientific_name", "yes", ["A"]], id="reverse-not-a-bool"),
        pytest.param(["thing:scientific_name", 0, ["A"]], id="reverse-a-number"),
        pytest.param(["thing:scientific_name", False, "A"], id="position-not-a-list"),
        pytest.param(["thing:scientific_name", False, {"scientific_name": "A"}], id="position-a-dict"),
        pytest.param(["thing:scientific_name", False, []], id="position-too-short"),
        pytest.param(["thing:scientific_name", False, ["A", 1]], id="position-too-long"),
        pytest.param(["thing:scientific_name", False], id="two-items"),
        pytest.param(["thing:scientific_name", False, ["A"], "extra"], id="four-items"),
        pytest.param(5, id="a-number"),
        pytest.param(None, id="null"),
        pytest.param("abc", id="three-letters"),
    ],
)
def test_decode_cursor_refuses_a_signed_payload_of_the_wrong_shape(payload):
    token = signing.dumps(payload, salt=CURSOR_SALT, compress=False)
    with pytest.raises(ValidationError) as caught:
        scoped().decode_cursor(token)
    assert caught.value.detail["cursor"] == INVALID_CURSOR


def test_decode_cursor_refuses_an_oversized_cursor_before_reading_it(monkeypatch):
    paginator = scoped()
    token = paginator.encode_cursor(Cursor(reverse=False, position=["a" * CURSOR_MAX_LENGTH]))
    assert len(token) > CURSOR_MAX_LENGTH
    with pytest.raises(ValidationError) as caught:
        paginator.decode_cursor(token)
    assert caught.value.detail["cursor"] == INVALID_CURSOR
    monkeypatch.setattr(pagination, "CURSOR_MAX_LENGTH", len(token))  # the same token, under a looser bound
    assert paginator.decode_cursor(token).position == ["a" * CURSOR_MAX_LENGTH]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "position",
    [
        pytest.param([None, None], id="nulls"),
        pytest.param(["not a date", 1], id="not-a-date"),
        pytest.param(["2026-01-01T00:00:00+00:00", "not an id"], id="not-an-id"),
        pytest.param([["2026-01-01T00:00:00+00:00"], [1]], id="lists"),
        pytest.param([{"a": 1}, {"b": 2}], id="dicts"),
    ],
)
def test_paginate_refuses_a_signed_position_that_is_no_position(position):
    PostFactory()
    raw = forged("thing:-published_at,-id", False, position)
    with pytest.raises(ValidationError) as caught:
        paginate(f"/things/?cursor={raw}", Post.objects.all(), ("-published_at", "-id"))
    assert "cursor" in caught.value.detail


@pytest.mark.django_db
def test_paginate_empty_cursor_is_the_first_page():
    OrganismFactory.create_batch(3)
    first, rows = paginate("/things/?page_size=2&cursor=", Organism.objects.all())
    expected = Organism.objects.order_by("scientific_name").values_list("pk", flat=True)[:2]
    assert [row.pk for row in rows] == list(expected)
    assert first.get_previous_link() is None


class ThingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organism
        fields = ["slug"]


class ThingList(generics.ListAPIView):
    """The paginator behind a real DRF view: its ValidationErrors become the API's 400 envelope."""

    queryset = Organism.objects.all()
    serializer_class = ThingSerializer
    pagination_class = KeysetPagination
    basename = "thing"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        pytest.param("cursor=not-a-cursor", id="garbage"),
        pytest.param("cursor=" + "A" * (CURSOR_MAX_LENGTH + 1), id="oversized"),
        pytest.param("cursor=%00", id="nul"),
        pytest.param("cursor=" + forged("thing:-id", False, [None]), id="null-position"),
        pytest.param("cursor=" + forged("thing:-id", False, ["x"]), id="text-id"),
        pytest.param("page_size=abc", id="page-size"),
    ],
)
def test_bad_cursor_or_page_size_through_a_view_is_a_400_envelope(query):
    OrganismFactory.create_batch(2)
    response = ThingList.as_view()(requests.get(f"/api/things/?{query}"))
    assert response.status_code == 400
    name = query.partition("=")[0]
    assert response.data["error"]["code"] == "invalid"
    assert name in response.data["error"]["fields"]


@pytest.mark.django_db
def test_good_cursor_through_a_view_is_the_next_page():
    OrganismFactory.create_batch(3)
    first = ThingList.as_view()(requests.get("/api/things/?page_size=2"))
    second = ThingList.as_view()(requests.get(first.data["next"]))
    slugs = [row["slug"] for row in first.data["results"] + second.data["results"]]
    assert slugs == list(Organism.objects.order_by("-id").values_list("slug", flat=True))
    assert second.data["next"] is None


@pytest.mark.django_db
def test_next_link_from_a_long_non_bmp_sort_key_is_followable():
    OrganismFactory(scientific_name="\U00013000" * 200)  # within the model's max_length=200
    OrganismFactory(scientific_name="\U00013001" * 200)
    first, _ = paginate("/things/?page_size=1", Organism.objects.all())
    _, rows = paginate(first.get_next_link(), Organism.objects.all())
    assert [row.scientific_name for row in rows] == ["\U00013001" * 200]


# --- ties: every row once, forwards and backwards ---


@pytest.fixture
def tied_organisms(db):
    """Seven rows sharing three kingdoms: the kingdom alone does not order them, the id breaks each tie."""
    kingdoms = ["Plantae", "Animalia", "Fungi", "Animalia", "Plantae", "Animalia", "Fungi"]
    return [OrganismFactory(kingdom=kingdom) for kingdom in kingdoms]


@pytest.mark.parametrize(
    "ordering", [("kingdom", "id"), ("kingdom", "-id"), ("-kingdom", "id"), ("-kingdom", "-id")], ids=str
)
@pytest.mark.parametrize("page_size", [1, 2, 3, 7])
def test_walk_with_tied_sort_keys_sees_every_row_once_in_order(tied_organisms, ordering, page_size):
    everything = Organism.objects.all()
    expected = list(everything.order_by(*ordering).values_list("pk", flat=True))
    forward, last_url = walk(f"/things/?page_size={page_size}", everything, ordering)
    assert [pk for page in forward for pk in page] == expected
    assert all(len(page) == page_size for page in forward[:-1])
    assert 1 <= len(forward[-1]) <= page_size
    backward, first_url = walk(last_url, everything, ordering, direction="previous")
    assert [pk for page in reversed(backward) for pk in page] == expected
    assert backward[-1] == forward[0]  # the previous links end on the first page exactly


@pytest.mark.django_db
def test_walk_posts_with_equal_publication_times_sees_every_post_once():
    """The posts' own ordering: a timestamp (with microseconds) that several posts share, then the id."""
    moment = timezone.now().replace(microsecond=123456) - timedelta(days=1)
    for offset in (0, 0, 0, 1, 0, 2, 2, 0):
        PostFactory(published_at=moment - timedelta(seconds=offset))
    ordering = ("-published_at", "-id")
    everything = Post.objects.all()
    expected = list(everything.order_by(*ordering).values_list("pk", flat=True))
    forward, last_url = walk("/things/?page_size=3", everything, ordering)
    assert [pk for page in forward for pk in page] == expected
    backward, _ = walk(last_url, everything, ordering, direction="previous")
    assert [pk for page in reversed(backward) for pk in page] == expected


# --- links ---


@pytest.mark.django_db
def test_links_on_first_middle_and_last_pages():
    OrganismFactory.create_batch(5)
    first, _ = paginate("/things/?page_size=2&kingdom=Animalia", Organism.objects.all())
    assert first.get_previous_link() is None
    next_url = first.get_next_link()
    assert urlsplit(next_url).path == "/things/"
    assert parse_qs(urlsplit(next_url).query).keys() == {"page_size", "kingdom", "cursor"}

    middle, _ = paginate(next_url, Organism.objects.all())
    query = parse_qs(urlsplit(middle.get_next_link()).query)
    assert len(query["cursor"]) == 1  # replaced, not appended
    assert query["cursor"][0] != cursor_in(next_url)
    assert query["page_size"] == ["2"] and query["kingdom"] == ["Animalia"]
    assert middle.get_previous_link() is not None

    last, rows = paginate(middle.get_next_link(), Organism.objects.all())
    assert len(rows) == 1
    assert last.get_next_link() is None
    assert last.get_previous_link() is not None


@pytest.mark.django_db
def test_exactly_one_full_page_has_no_next_link():
    OrganismFactory.create_batch(3)
    paginator, rows = paginate("/things/?page_size=3", Organism.objects.all())
    assert len(rows) == 3
    assert paginator.get_next_link() is None
    assert paginator.get_previous_link() is None


@pytest.mark.django_db
def test_empty_list_has_no_links():
    paginator, rows = paginate("/things/", Organism.objects.all())
    assert rows == []
    assert paginator.get_next_link() is None
    assert paginator.get_previous_link() is None


@pytest.mark.django_db
def test_next_link_to_rows_deleted_meanwhile_is_an_empty_page_linking_back_to_the_first():
    OrganismFactory.create_batch(4)
    first, rows = paginate("/things/?page_size=2", Organism.objects.all())
    Organism.objects.exclude(pk__in=[row.pk for row in rows]).delete()
    after, remaining = paginate(first.get_next_link(), Organism.objects.all())
    assert remaining == []
    assert after.get_next_link() is None
    back = after.get_previous_link()
    assert "cursor" not in parse_qs(urlsplit(back).query)
    assert parse_qs(urlsplit(back).query)["page_size"] == ["2"]


@pytest.mark.django_db
def test_previous_link_to_rows_deleted_meanwhile_still_leads_to_the_rows_that_remain():
    OrganismFactory.create_batch(4)
    everything = Organism.objects.all()
    first, first_rows = paginate("/things/?page_size=2", everything)
    second, second_rows = paginate(first.get_next_link(), everything)
    previous = second.get_previous_link()
    Organism.objects.filter(pk__in=[row.pk for row in first_rows]).delete()
    before, rows = paginate(previous, everything)
    assert rows == []
    onward = before.get_next_link()
    assert onward is not None
    _, reached = paginate(onward, everything)
    assert [row.pk for row in reached] == [row.pk for row in second_rows]


@pytest.mark.django_db
def test_paginated_response_shape():
    OrganismFactory.create_batch(2)
    paginator, _ = paginate("/things/?page_size=1", Organism.objects.all())
    response = paginator.get_paginated_response(["row"])
    assert list(response.data) == ["next", "previous", "results"]
    assert response.data["results"] == ["row"]
    assert response.data["next"] == paginator.get_next_link()
    assert response.data["previous"] is None


def test_schema_parameters_state_the_bounds_the_code_enforces(settings):
    parameters = {p["name"]: p for p in KeysetPagination().get_schema_operation_parameters(view=None)}
    assert parameters["cursor"]["schema"]["maxLength"] == CURSOR_MAX_LENGTH
    assert parameters["page_size"]["schema"]["minimum"] == 1
    assert str(settings.API_MAX_PAGE_SIZE) in parameters["page_size"]["description"]
    schema = KeysetPagination().get_paginated_response_schema({"type": "array"})
    assert schema["properties"]["results"] == {"type": "array"}
    assert schema["required"] == ["results"]


@pytest.mark.django_db
def test_paginate_refuses_a_list_where_a_text_key_stands():
    """A text field would read the list as its text ("['x']") and page from there; a list is no position."""
    OrganismFactory()
    raw = forged("thing:scientific_name", False, [["x"]])
    with pytest.raises(ValidationError) as caught:
        paginate(f"/things/?cursor={raw}", Organism.objects.all())
    assert "cursor" in caught.value.detail
