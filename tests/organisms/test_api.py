import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from organisms.models import Organism
from tests.factories import OrganismFactory, OrganismImageFactory, PostFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/organisms/"


def detail_url(slug: str) -> str:
    return f"/api/v1/organisms/{slug}/"


def walk(client, url: str, direction: str = "next") -> list[list[str]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([row["scientific_name"] for row in body["results"]])
        url = body[direction]
    return pages


def test_organism_list_returns_lean_published_records(api_client):
    OrganismFactory(scientific_name="Panthera uncia", class_name="Mammalia")
    OrganismFactory(is_published=False)
    body = api_client.get(LIST_URL).json()
    assert body["previous"] is None and body["next"] is None
    assert len(body["results"]) == 1
    row = body["results"][0]
    assert set(row) == {
        "slug", "url", "common_name", "scientific_name", "kingdom", "class", "conservation_status", "thumbnail"
    }  # fmt: skip
    assert row["class"] == "Mammalia"
    assert row["url"].endswith(detail_url(row["slug"]))


def test_organism_list_pages_forward_and_back_without_gaps(api_client):
    names = sorted(OrganismFactory(scientific_name=f"Genus sp{i:02d}").scientific_name for i in range(23))
    forward = walk(api_client, f"{LIST_URL}?page_size=5")
    assert [len(page) for page in forward] == [5, 5, 5, 5, 3]
    assert sum(forward, []) == names
    last_page = api_client.get(f"{LIST_URL}?page_size=5").json()
    for _ in range(4):
        last_page = api_client.get(last_page["next"]).json()
    backward = walk(api_client, last_page["previous"], direction="previous")
    assert sum(reversed(backward), []) == names[:20]


def test_organism_list_page_size_is_capped(api_client):
    OrganismFactory.create_batch(105)
    body = api_client.get(f"{LIST_URL}?page_size=1000").json()
    assert len(body["results"]) == 100
    assert body["next"]


@pytest.mark.parametrize("page_size", ["abc", "0", "-3", "1.5", "1e3"])
def test_organism_list_rejects_bad_page_size(api_client, page_size):
    response = api_client.get(f"{LIST_URL}?page_size={page_size}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["page_size"]


def test_organism_list_rejects_tampered_truncated_and_foreign_cursors(api_client):
    OrganismFactory.create_batch(3)
    PostFactory.create_batch(3)
    cursor = api_client.get(f"{LIST_URL}?page_size=1").json()["next"].split("cursor=")[1].split("&")[0]
    post_next = api_client.get("/api/v1/posts/?page_size=1").json()["next"]
    post_cursor = post_next.split("cursor=")[1].split("&")[0]
    for bad in (cursor[:-3], cursor[:10], "A" + cursor[1:], post_cursor, "%00", "not-a-cursor", "W10"):
        response = api_client.get(f"{LIST_URL}?cursor={bad}")
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "invalid"


def test_organism_list_filters_by_rank_status_and_search(api_client):
    OrganismFactory(scientific_name="Panthera uncia", common_name="Snow leopard", conservation_status="VU")
    OrganismFactory(scientific_name="Tyto alba", common_name="Barn owl", class_name="Aves", conservation_status="LC")

    def names(query):
        return [row["scientific_name"] for row in api_client.get(f"{LIST_URL}?{query}").json()["results"]]

    assert names("class=Aves") == ["Tyto alba"]
    assert names("conservation_status=vu,cr") == ["Panthera uncia"]
    assert names("search=leopard") == ["Panthera uncia"]
    assert names("search=owl&class=Mammalia") == []


@pytest.mark.parametrize(
    "query",
    ["conservation_status=ZZ", "colour=red", "search=" + "x" * 201, "fields=slug,secret", "kingdom=a%00b"],
)
def test_organism_list_rejects_bad_filters(api_client, query):
    response = api_client.get(f"{LIST_URL}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["status"] == 400
    assert body["error"]["message"]
    assert body["request_id"]


def test_organism_list_ignores_tracking_parameters(api_client):
    OrganismFactory()
    response = api_client.get(f"{LIST_URL}?utm_source=news&utm_campaign=x&fbclid=1&gclid=2")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_organism_list_sparse_fields(api_client):
    OrganismFactory()
    row = api_client.get(f"{LIST_URL}?fields=slug,common_name").json()["results"][0]
    assert set(row) == {"slug", "common_name"}


def test_organism_list_query_count_does_not_grow_with_rows(api_client):
    def count_for(rows: int) -> int:
        Organism.objects.all().delete()
        for organism in OrganismFactory.create_batch(rows):
            OrganismImageFactory(organism=organism)
        with CaptureQueriesContext(connection) as queries:
            assert api_client.get(LIST_URL).status_code == 200
        return len(queries)

    assert count_for(2) == count_for(20) == 2


def test_organism_detail_and_list_leave_out_photographs_without_alt_text(api_client):
    organism = OrganismFactory()
    OrganismImageFactory(organism=organism, alt_text="", position=0)
    OrganismImageFactory(organism=organism, alt_text="Portrait", position=1)

    detail = api_client.get(detail_url(organism.slug)).json()
    [listed] = api_client.get(LIST_URL).json()["results"]

    assert [image["alt_text"] for image in detail["images"]] == ["Portrait"]
    assert listed["thumbnail"]["alt_text"] == "Portrait"


def test_organism_detail_shows_images_and_published_related_posts(api_client):
    organism = OrganismFactory()
    OrganismImageFactory(organism=organism, alt_text="Portrait")
    public = PostFactory(title="Seen")
    hidden = PostFactory(title="Scheduled", published_at=public.published_at.replace(year=2999))
    for post in (public, hidden):
        post.related_organisms.add(organism)
    with CaptureQueriesContext(connection) as queries:
        body = api_client.get(detail_url(organism.slug)).json()
    assert len(queries) == 4  # the organism, its images, its posts, its vernacular names
    assert [post["title"] for post in body["related_posts"]] == ["Seen"]
    assert body["common_names"] == [{"name": organism.common_name, "language": "en", "region": "", "preferred": True}]
    image = body["images"][0]
    assert image["alt_text"] == "Portrait"
    assert image["srcset"]["webp"] == (
        "http://testserver/media/r/a-320.webp 320w, http://testserver/media/r/a-640.webp 640w"
    )
    assert "original" not in image
    assert body["class"] == "Mammalia" and body["order"] == "Carnivora"


def test_organism_detail_of_unpublished_is_404_json(api_client):
    organism = OrganismFactory(is_published=False)
    response = api_client.get(detail_url(organism.slug))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_organism_autocomplete_returns_at_most_ten(api_client):
    OrganismFactory.create_batch(12, common_name="Owl")
    response = api_client.get("/api/v1/organisms/autocomplete/?q=owl")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 10


def test_organism_autocomplete_requires_q(api_client):
    response = api_client.get("/api/v1/organisms/autocomplete/")
    assert response.status_code == 400
    assert "q" in response.json()["error"]["fields"]


NEW_ORGANISM = {
    "common_name": "Snow leopard",
    "scientific_name": "Panthera uncia",
    "kingdom": "Animalia",
    "class": "Mammalia",
    "order": "Carnivora",
    "conservation_status": "VU",
    "is_published": True,
}


def test_organism_create_refuses_anonymous(api_client):
    response = api_client.post(LIST_URL, NEW_ORGANISM, format="json")
    assert response.status_code == 401
    assert not Organism.objects.exists()


def test_organism_create_refuses_staff_without_permission(token_client):
    client = token_client("organisms.change_organism")
    response = client.post(LIST_URL, NEW_ORGANISM, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_organism_create_refuses_non_staff_even_with_permission(token_client):
    client = token_client("organisms.add_organism", is_staff=False)
    assert client.post(LIST_URL, NEW_ORGANISM, format="json").status_code == 403


def test_organism_create_by_staff_with_permission(token_client):
    client = token_client("organisms.add_organism")
    response = client.post(LIST_URL, NEW_ORGANISM, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "panthera-uncia"
    assert body["class"] == "Mammalia"
    assert Organism.objects.get(slug="panthera-uncia").order_name == "Carnivora"


@pytest.mark.parametrize("field", ["created_at", "updated_at", "id", "images", "status"])
def test_organism_create_refuses_server_owned_fields(token_client, field):
    client = token_client("organisms.add_organism")
    response = client.post(LIST_URL, {**NEW_ORGANISM, field: "2000-01-01"}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Organism.objects.exists()


def test_organism_create_reports_wrong_types(token_client):
    client = token_client("organisms.add_organism")
    response = client.post(LIST_URL, {**NEW_ORGANISM, "is_published": "maybe", "common_name": 5}, format="json")
    assert response.status_code == 400
    assert "is_published" in response.json()["error"]["fields"]


def test_organism_create_rejects_duplicate_scientific_name(token_client):
    OrganismFactory(scientific_name="Panthera uncia")
    response = token_client("organisms.add_organism").post(LIST_URL, NEW_ORGANISM, format="json")
    assert response.status_code == 400
    assert "scientific_name" in response.json()["error"]["fields"]


def test_organism_patch_can_reach_unpublished_records(token_client):
    organism = OrganismFactory(is_published=False, habitat="Old")
    client = token_client("organisms.change_organism")
    response = client.patch(detail_url(organism.slug), {"habitat": "New", "is_published": True}, format="json")
    assert response.status_code == 200, response.content
    organism.refresh_from_db()
    assert organism.habitat == "New" and organism.is_published


def test_organism_put_is_not_allowed(token_client):
    organism = OrganismFactory()
    response = token_client("organisms.change_organism").put(detail_url(organism.slug), NEW_ORGANISM, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_organism_delete_needs_delete_permission(token_client):
    organism = OrganismFactory()
    assert token_client("organisms.change_organism").delete(detail_url(organism.slug)).status_code == 403
    assert token_client("organisms.delete_organism").delete(detail_url(organism.slug)).status_code == 204
    assert not Organism.objects.filter(pk=organism.pk).exists()


def test_organism_session_write_needs_csrf(staff_with):
    from rest_framework.test import APIClient

    user = staff_with("organisms.add_organism")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(LIST_URL, NEW_ORGANISM, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert not Organism.objects.exists()


@pytest.fixture
def lion_taxon():
    """The lion's lineage, and a synonym of it, as the tree holds them (no organism yet)."""
    from organisms import services
    from organisms.models import Taxon, TaxonomicStatus

    parent = None
    for rank, name in [("kingdom", "Animalia"), ("phylum", "Chordata"), ("class", "Mammalia"),
                       ("order", "Carnivora"), ("family", "Felidae"), ("genus", "Panthera")]:  # fmt: skip
        parent = services.taxon_create(parent=parent, rank=rank, scientific_name=name)
    species = services.taxon_create(parent=parent, rank="species", scientific_name="Panthera leo")
    Taxon.objects.create(rank="species", scientific_name="Felis leo", path="", status=TaxonomicStatus.SYNONYM,
                         accepted=species)  # fmt: skip
    return species


TREE_VALUES = {"scientific_name": "Panthera leo", "kingdom": "Animalia", "phylum": "Chordata", "class": "Mammalia",
               "order": "Carnivora", "family": "Felidae", "genus": "Panthera"}  # fmt: skip


def test_organism_create_with_a_taxon_answers_with_the_trees_name_and_ranks(token_client, lion_taxon):
    client = token_client("organisms.add_organism")
    response = client.post(LIST_URL, {"common_name": "Lion", "taxon": lion_taxon.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {name: body[name] for name in TREE_VALUES} == TREE_VALUES
    assert body["slug"] == "panthera-leo"
    assert Organism.objects.get(slug="panthera-leo").taxon_id == lion_taxon.pk


def test_organism_patch_with_a_taxon_refiles_the_record(token_client, lion_taxon):
    organism = OrganismFactory(scientific_name="Felis leo", genus="Felis", is_published=False)
    response = token_client("organisms.change_organism").patch(
        detail_url(organism.slug), {"taxon": lion_taxon.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert {name: response.json()[name] for name in TREE_VALUES} == TREE_VALUES
    assert Organism.objects.get(pk=organism.pk).taxon_id == lion_taxon.pk


@pytest.mark.parametrize("given", [{"scientific_name": "Panthera leo"}, {"class": "Aves", "genus": "Panthera"}])
def test_organism_write_refuses_names_and_ranks_sent_with_the_taxon(token_client, lion_taxon, given):
    client = token_client("organisms.add_organism")
    response = client.post(LIST_URL, {"common_name": "Lion", "taxon": lion_taxon.pk, **given}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == set(given)
    assert all("These come from the taxon" in messages[0] for messages in fields.values())
    assert not Organism.objects.exists()


@pytest.mark.parametrize(
    ("taxon", "message"),
    [
        ("synonym", "Felis leo is a synonym of Panthera leo"),
        ("genus", "Panthera is a genus: an organism belongs to a species, subspecies or variety."),
        (999_999, "No taxon has the id 999999."),
        (2**64, "No taxon has the id 18446744073709551616."),
        ("lion", "A valid integer is required."),
        (1.5, "A valid integer is required."),
        (None, "This field may not be null."),
    ],
)
def test_organism_write_refuses_a_taxon_an_organism_cannot_have(token_client, lion_taxon, taxon, message):
    from organisms.models import Taxon

    named = {"synonym": "Felis leo", "genus": "Panthera"}
    if taxon in named:
        taxon = Taxon.objects.get(scientific_name=named[taxon]).pk
    client = token_client("organisms.add_organism")
    response = client.post(LIST_URL, {"common_name": "Lion", "taxon": taxon}, format="json")
    assert response.status_code == 400
    assert message in response.json()["error"]["fields"]["taxon"][0]


def test_organism_create_without_a_taxon_still_needs_a_scientific_name_and_kingdom(token_client):
    client = token_client("organisms.add_organism")
    response = client.post(LIST_URL, {"common_name": "Lion"}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"scientific_name", "kingdom"}
    assert fields["kingdom"] == ["This field is required, unless `taxon` is sent."]


def test_organism_detail_shows_the_ranks_of_a_family_moved_to_another_order(api_client):
    from organisms import services
    from organisms.models import Taxon

    lion = services.organism_create(user=None, common_name="Lion", scientific_name="Panthera leo",
                                    kingdom="Animalia", class_name="Mammalia", order_name="Carnivora",
                                    family="Felidae", is_published=True)  # fmt: skip
    mammalia = Taxon.objects.get(rank="class", scientific_name="Mammalia")
    feliformia = services.taxon_create(parent=mammalia, rank="order", scientific_name="Feliformia")
    services.taxon_move(taxon=Taxon.objects.get(rank="family", scientific_name="Felidae"), parent=feliformia,
                        user=None)  # fmt: skip

    body = api_client.get(detail_url(lion.slug)).json()
    assert (body["order"], body["family"], body["class"]) == ("Feliformia", "Felidae", "Mammalia")
    listed = api_client.get(LIST_URL, {"order": "Feliformia"}).json()["results"]
    assert [row["slug"] for row in listed] == [lion.slug]
