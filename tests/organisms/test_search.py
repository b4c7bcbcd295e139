"""Search and autocomplete by any name: accepted, synonym, vernacular in any language, folded."""

import pytest

from organisms import search, selectors, services
from organisms.models import Taxon, TaxonomicStatus, VernacularName

pytestmark = pytest.mark.django_db

BIRD = {"kingdom": "Animalia", "phylum": "Chordata", "class_name": "Aves", "order_name": "Psittaciformes",
        "family": "Strigopidae"}  # fmt: skip
CAT = {"kingdom": "Animalia", "phylum": "Chordata", "class_name": "Mammalia", "order_name": "Carnivora",
       "family": "Felidae"}  # fmt: skip


def species(common: str, scientific: str, ranks: dict, published: bool = True):
    return services.organism_create(user=None, common_name=common, scientific_name=scientific, is_published=published,
                                    **ranks)  # fmt: skip


@pytest.fixture
def catalogue():
    kakapo = species("Kakapo", "Strigops habroptila", BIRD)
    VernacularName.objects.create(taxon_id=kakapo.taxon_id, name="Kākāpō", language="mi", preferred=True)
    puma = species("Cougar", "Puma concolor", CAT)
    Taxon.objects.create(rank="species", scientific_name="Felis concolor", authorship="Linnaeus, 1771",
                         status=TaxonomicStatus.SYNONYM, accepted_id=puma.taxon_id, path="")  # fmt: skip
    VernacularName.objects.bulk_create([
        VernacularName(taxon_id=puma.taxon_id, name="Pumá", language="es", preferred=True),
        VernacularName(taxon_id=puma.taxon_id, name="Berglöwe", language="de", preferred=True),
    ])  # fmt: skip
    lion = species("Lion", "Panthera leo", CAT)
    hidden = species("Clouded leopard", "Neofelis nebulosa", CAT, published=False)
    return {"kakapo": kakapo, "puma": puma, "lion": lion, "hidden": hidden}


def suggested(query: str) -> list[tuple[str, str, str, str | None]]:
    return [
        (o.scientific_name, o.matched_name.name, o.matched_name.kind, o.matched_name.language)
        for o in selectors.organism_autocomplete(query=query)
    ]


@pytest.mark.parametrize("typed", ["kakapo", "KAKAPO", "kākāpō", "Kaka"])
def test_autocomplete_ignores_accents_and_case(catalogue, typed):
    assert suggested(typed)[0][0] == "Strigops habroptila"


def test_a_synonym_leads_to_the_accepted_record_and_says_so(catalogue):
    assert suggested("Felis concolor") == [("Puma concolor", "Felis concolor", "synonym", None)]


def test_vernacular_names_match_in_every_language(catalogue):
    assert suggested("berglowe") == [("Puma concolor", "Berglöwe", "vernacular", "de")]
    assert suggested("puma") == [("Puma concolor", "Pumá", "vernacular", "es")]  # exact beats the prefix


def test_exact_matches_come_first_then_prefixes_then_word_starts(catalogue):
    species("Lionfish", "Pterois volitans", {**CAT, "class_name": "Actinopterygii", "family": "Scorpaenidae"})
    species("Mountain lion hybrid", "Puma concolor x", CAT)
    found = [o.scientific_name for o in selectors.organism_autocomplete(query="lion")]
    assert found == ["Panthera leo", "Pterois volitans", "Puma concolor x"]


def test_unpublished_records_are_never_suggested(catalogue):
    assert suggested("clouded") == []
    assert suggested("neofelis") == []


def test_an_organism_matching_by_several_names_is_suggested_once(catalogue):
    VernacularName.objects.create(taxon_id=catalogue["lion"].taxon_id, name="Lion d'Afrique", language="fr")
    assert [row[0] for row in suggested("lion")] == ["Panthera leo"]


def test_the_list_search_finds_any_name_anywhere_in_it(catalogue):
    def found(text):
        return sorted(o.scientific_name for o in selectors.organism_list(search=text))

    assert found("LOWE") == ["Puma concolor"]
    assert found("concolor") == ["Puma concolor"]  # the accepted name and the synonym: one record
    assert found("āpō") == ["Strigops habroptila"]
    assert found("leopard") == []  # unpublished


def test_taxa_autocomplete_leads_synonyms_and_names_to_accepted_taxa(catalogue):
    felidae = Taxon.objects.get(rank="family", scientific_name="Felidae")
    VernacularName.objects.create(taxon=felidae, name="Félidés", language="fr", preferred=True)
    found = selectors.taxon_autocomplete(query="felid")
    assert [(t.scientific_name, t.matched_name.name, t.matched_name.kind) for t in found] == [
        ("Felidae", "Felidae", "scientific"),
        ("Felidae", "Félidés", "vernacular"),
    ][:1]
    synonym = selectors.taxon_autocomplete(query="felis con")
    assert [(t.scientific_name, t.matched_name.kind) for t in synonym] == [("Puma concolor", "synonym")]


def test_folded_names_follow_every_way_a_name_is_written(catalogue):
    name = VernacularName.objects.get(name="Pumá")
    name.name = "León de montaña"
    name.save(update_fields=["name"])
    assert VernacularName.objects.get(pk=name.pk).search_name == "leon de montana"
    taxon = Taxon.objects.get(scientific_name="Panthera leo")
    services.taxon_update(taxon=taxon, user=None, scientific_name="Panthera léo")
    assert Taxon.objects.get(pk=taxon.pk).search_name == "panthera leo"
    assert not Taxon.objects.filter(search_name="").exists()
    assert not VernacularName.objects.filter(search_name="").exists()


def test_autocomplete_api_shows_the_matched_name(client, catalogue):
    body = client.get("/api/v1/organisms/autocomplete/", {"q": "felis concolor"}).json()
    assert body["results"][0]["slug"] == catalogue["puma"].slug
    assert body["results"][0]["matched_name"] == {"name": "Felis concolor", "kind": "synonym", "language": None}
    body = client.get("/api/v1/taxa/autocomplete/", {"q": "kākā"}).json()
    assert body["results"][0]["scientific_name"] == "Strigops habroptila"
    assert body["results"][0]["matched_name"] == {"name": "Kākāpō", "kind": "vernacular", "language": "mi"}
    assert body["results"][0]["url"].endswith(f"/api/v1/taxa/{catalogue['kakapo'].taxon_id}/")


@pytest.mark.parametrize("q", ["", " ", "-", "x" * 101])
def test_autocomplete_with_nothing_to_match_is_empty_or_a_400(client, catalogue, q):
    response = client.get("/api/v1/taxa/autocomplete/", {"q": q})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json()["results"] == []
    else:
        assert "q" in response.json()["error"]["fields"]


def test_a_synonyms_slug_redirects_to_the_accepted_record(client, catalogue):
    response = client.get("/api/v1/organisms/felis-concolor/", {"lang": "es"})
    assert response.status_code == 301
    assert response["Location"] == f"/api/v1/organisms/{catalogue['puma'].slug}/?lang=es"
    assert client.get(response["Location"]).json()["common_name"] == "Pumá"
    assert client.get("/api/v1/organisms/felis-nonexistens/").status_code == 404
    assert client.get("/api/v1/organisms/neofelis-nebulosa/").status_code == 404  # unpublished stays hidden


@pytest.mark.parametrize("probe", [2, 2000])
def test_the_list_search_finds_the_same_either_way_round(catalogue, monkeypatch, probe):
    """A name commoner than the probe is searched by walking the organisms, a rarer one by its taxa's ids."""
    monkeypatch.setattr(search, "PROBE", probe)
    for index in range(4):
        species(f"Marsh lion {index}", f"Leo palustris{index}", CAT)
    found = sorted(o.scientific_name for o in selectors.organism_list(search="lion"))
    assert found == ["Leo palustris0", "Leo palustris1", "Leo palustris2", "Leo palustris3", "Panthera leo"]
    assert [o.scientific_name for o in selectors.organism_list(search="berglö")] == ["Puma concolor"]
