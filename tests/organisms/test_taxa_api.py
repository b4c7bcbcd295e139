"""GET /api/v1/taxa/ and /api/v1/taxa/{id}/, and the organisms beneath a taxon (?taxon=)."""

import pytest

from organisms import services
from organisms.models import Organism, Taxon, TaxonomicStatus, VernacularName

pytestmark = pytest.mark.django_db

TAXA = "/api/v1/taxa/"
CAT = {"kingdom": "Animalia", "phylum": "Chordata", "class_name": "Mammalia", "order_name": "Carnivora",
       "family": "Felidae"}  # fmt: skip


@pytest.fixture
def cats():
    puma = services.organism_create(user=None, common_name="Cougar", scientific_name="Puma concolor", **CAT,
                                    is_published=True)  # fmt: skip
    lion = services.organism_create(user=None, common_name="Lion", scientific_name="Panthera leo", **CAT,
                                    is_published=True)  # fmt: skip
    hidden = services.organism_create(user=None, common_name="Tiger", scientific_name="Panthera tigris", **CAT)
    dog = services.organism_create(user=None, common_name="Wolf", scientific_name="Canis lupus", is_published=True,
                                   **{**CAT, "family": "Canidae"})  # fmt: skip
    species = Taxon.objects.get(pk=puma.taxon_id)
    Taxon.objects.create(rank="species", scientific_name="Felis concolor", authorship="Linnaeus, 1771",
                         status=TaxonomicStatus.SYNONYM, accepted=species, path="")  # fmt: skip
    VernacularName.objects.create(taxon=species, name="Puma", language="es", preferred=True)
    return {"puma": puma, "lion": lion, "hidden": hidden, "dog": dog}


def test_taxa_filter_by_rank_and_parent(client, cats):
    kingdoms = client.get(TAXA, {"rank": "kingdom"}).json()["results"]
    assert [taxon["scientific_name"] for taxon in kingdoms] == ["Animalia"]
    carnivora = Taxon.objects.get(rank="order", scientific_name="Carnivora")
    families = client.get(TAXA, {"parent": carnivora.pk}).json()["results"]
    assert [taxon["scientific_name"] for taxon in families] == ["Canidae", "Felidae"]
    assert {taxon["parent"] for taxon in families} == {carnivora.pk}


def test_taxa_search_finds_synonyms_too(client, cats):
    found = client.get(TAXA, {"q": "concolor"}).json()["results"]
    assert {(taxon["scientific_name"], taxon["status"]) for taxon in found} == {
        ("Felis concolor", "synonym"),
        ("Puma concolor", "accepted"),
    }


def test_taxa_search_finds_vernacular_names_in_any_language(client, cats):
    found = client.get(TAXA, {"q": "PUMA"}).json()["results"]  # the Spanish name, and the genus Puma
    assert [(taxon["scientific_name"], taxon["rank"]) for taxon in found] == [
        ("Puma", "genus"),
        ("Puma concolor", "species"),
    ]
    assert [taxon["scientific_name"] for taxon in client.get(TAXA, {"q": "cougar"}).json()["results"]] == [
        "Puma concolor"
    ]


def test_taxon_detail_has_its_breadcrumb_children_counts_synonyms_and_names(client, cats):
    felidae = Taxon.objects.get(rank="family", scientific_name="Felidae")
    body = client.get(f"{TAXA}{felidae.pk}/").json()
    assert [ancestor["scientific_name"] for ancestor in body["ancestors"]] == [
        "Animalia", "Chordata", "Mammalia", "Carnivora"
    ]  # fmt: skip
    assert body["parent"]["scientific_name"] == "Carnivora"
    assert body["children_count"] == 2  # Puma, Panthera
    assert body["organism_count"] == 2  # the puma and the lion; the tiger is not published
    children = client.get(body["children"]).json()["results"]
    assert [child["scientific_name"] for child in children] == ["Panthera", "Puma"]
    puma = client.get(f"{TAXA}{cats['puma'].taxon_id}/").json()
    assert [synonym["scientific_name"] for synonym in puma["synonyms"]] == ["Felis concolor"]
    assert {(name["name"], name["language"]) for name in puma["common_names"]} == {("Cougar", "en"), ("Puma", "es")}
    assert puma["organism_count"] == 1


def test_a_synonym_leads_to_its_accepted_taxon(client, cats):
    synonym = Taxon.objects.get(scientific_name="Felis concolor")
    body = client.get(f"{TAXA}{synonym.pk}/").json()
    assert body["status"] == "synonym"
    assert body["accepted"]["scientific_name"] == "Puma concolor"
    assert body["accepted"]["url"].endswith(f"{TAXA}{cats['puma'].taxon_id}/")


def test_organisms_beneath_a_taxon_at_any_depth(client, cats):
    def names(taxon: Taxon) -> list[str]:
        return [
            row["scientific_name"] for row in client.get("/api/v1/organisms/", {"taxon": taxon.pk}).json()["results"]
        ]

    assert names(Taxon.objects.get(rank="kingdom")) == ["Canis lupus", "Panthera leo", "Puma concolor"]
    assert names(Taxon.objects.get(rank="family", scientific_name="Felidae")) == ["Panthera leo", "Puma concolor"]
    assert names(Taxon.objects.get(rank="genus", scientific_name="Panthera")) == ["Panthera leo"]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        (TAXA, {"rank": "phylumm"}, 400),
        (TAXA, {"parent": "abc"}, 400),
        (TAXA, {"parent": str(2**64)}, 400),
        (TAXA, {"colour": "red"}, 400),
        (f"{TAXA}{'9' * 30}/", {}, 404),
        (f"{TAXA}123456789/", {}, 404),
        ("/api/v1/organisms/", {"taxon": "-1"}, 400),
        ("/api/v1/organisms/", {"taxon": str(2**64)}, 400),
    ],
)
def test_bad_taxon_input_is_a_clear_4xx(client, cats, path, params, status):
    response = client.get(path, params)
    assert response.status_code == status
    assert response.json()["error"]["status"] == status


def test_an_unknown_taxon_has_no_organisms(client, cats):
    assert client.get("/api/v1/organisms/", {"taxon": 987654321}).json()["results"] == []


def test_taxa_are_not_deleted_through_the_api(admin_client, cats):
    felidae = Taxon.objects.get(rank="family", scientific_name="Felidae")
    assert admin_client.delete(f"{TAXA}{felidae.pk}/").status_code == 405
    assert Taxon.objects.filter(pk=felidae.pk).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_a_cached_taxon_page_follows_the_organisms_beneath_it(wsgi, cats):
    felidae = Taxon.objects.get(rank="family", scientific_name="Felidae")
    path = f"{TAXA}{felidae.pk}/"
    assert wsgi("GET", path)["X-Cache"] == "MISS"
    cached = wsgi("GET", path)
    assert cached["X-Cache"] == "HIT" and cached.json()["organism_count"] == 2
    services.organism_set_published(organisms=Organism.objects.filter(pk=cats["hidden"].pk), published=True, user=None)
    fresh = wsgi("GET", path)
    assert fresh["X-Cache"] == "MISS" and fresh.json()["organism_count"] == 3


@pytest.fixture
def curator(token_client):
    return token_client("organisms.add_taxon", "organisms.change_taxon", "organisms.view_taxon")


def test_staff_create_move_and_name_taxa_through_the_api(curator, client, cats):
    felidae = Taxon.objects.get(rank="family", scientific_name="Felidae")
    created = curator.post(TAXA, {"rank": "genus", "scientific_name": "Acinonyx", "authorship": "Brookes, 1828",
                                  "parent": felidae.pk}, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert [a["scientific_name"] for a in body["ancestors"]][-1] == "Felidae"
    canidae = Taxon.objects.get(rank="family", scientific_name="Canidae")
    moved = curator.patch(f"{TAXA}{body['id']}/", {"parent": canidae.pk}, format="json")
    assert moved.status_code == 200 and moved.json()["parent"]["id"] == canidae.pk
    assert Taxon.objects.get(pk=body["id"]).path.startswith(canidae.path)
    synonym = curator.post(TAXA, {"rank": "species", "scientific_name": "Felis jubata", "status": "synonym",
                                  "accepted": cats["puma"].taxon_id}, format="json")  # fmt: skip
    assert synonym.status_code == 201, synonym.content
    assert synonym.json()["accepted"]["scientific_name"] == "Puma concolor"
    assert client.get("/api/v1/organisms/felis-jubata/").status_code == 301


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("cycle", "parent"),  # under its own descendant
        ({"rank": "species"}, "rank"),  # a rank its children would sit above
        ({"parent": 999999}, "parent"),
        ({"status": "synonym"}, None),  # organisms beneath: refused
        ({"scientific_name": ""}, "scientific_name"),
        ({"path": "/1/"}, "path"),  # server-owned
    ],
)
def test_bad_taxon_writes_are_a_clear_400_and_change_nothing(curator, cats, change, field):
    felidae = Taxon.objects.get(rank="family", scientific_name="Felidae")
    if change == "cycle":
        change = {"parent": Taxon.objects.get(rank="genus", scientific_name="Panthera").pk}
    before = list(Taxon.objects.order_by("pk").values_list("pk", "path", "rank", "status", "scientific_name"))
    response = curator.patch(f"{TAXA}{felidae.pk}/", change, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert field in response.json()["error"]["fields"], response.json()
    after = list(Taxon.objects.order_by("pk").values_list("pk", "path", "rank", "status", "scientific_name"))
    assert after == before


def test_anonymous_and_unprivileged_callers_cannot_write_taxa(client, token_client, cats):
    assert client.post(TAXA, {"rank": "kingdom", "scientific_name": "Fungi"}).status_code in (401, 403)
    reader = token_client("organisms.view_taxon")
    assert reader.post(TAXA, {"rank": "kingdom", "scientific_name": "Fungi"}, format="json").status_code == 403
    assert not Taxon.objects.filter(scientific_name="Fungi").exists()


def test_a_taxon_that_exists_already_or_a_synonym_without_accepted_is_a_400(curator, cats):
    felidae = Taxon.objects.get(rank="family", scientific_name="Felidae")
    twice = curator.post(TAXA, {"rank": "genus", "scientific_name": "Panthera", "parent": felidae.pk}, format="json")
    assert twice.status_code == 400
    orphan = curator.post(TAXA, {"rank": "species", "scientific_name": "Felis nowhere", "status": "synonym"},
                          format="json")  # fmt: skip
    assert orphan.status_code == 400
    assert Taxon.objects.filter(scientific_name="Panthera").count() == 1
    assert not Taxon.objects.filter(scientific_name="Felis nowhere").exists()
