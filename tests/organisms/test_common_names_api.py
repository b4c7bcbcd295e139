"""`common_name` in the visitor's language, across the catalogue's representations and the page cache."""

import pytest
from django.test import RequestFactory

from biomuseum.pagecache import routes
from organisms import services
from organisms.models import Taxon, VernacularName

pytestmark = pytest.mark.django_db

ORGANISMS = "/api/v1/organisms/"
TAXA = "/api/v1/taxa/"
CAT = {"kingdom": "Animalia", "phylum": "Chordata", "class_name": "Mammalia", "order_name": "Carnivora",
       "family": "Felidae"}  # fmt: skip


@pytest.fixture
def puma(settings):
    settings.CATALOGUE_LANGUAGES = ["en", "fr", "es", "de", "pt", "pt-BR"]
    puma = services.organism_create(user=None, common_name="Cougar", scientific_name="Puma concolor",
                                    is_published=True, **CAT)  # fmt: skip
    VernacularName.objects.bulk_create([
        VernacularName(taxon_id=puma.taxon_id, name="Puma", language="fr", preferred=True),
        VernacularName(taxon_id=puma.taxon_id, name="Couguar", language="fr"),
        VernacularName(taxon_id=puma.taxon_id, name="León de montaña", language="es", preferred=True),
        VernacularName(taxon_id=puma.taxon_id, name="Onça-parda", language="pt", preferred=True),
        VernacularName(taxon_id=puma.taxon_id, name="Suçuarana", language="pt-br", preferred=True),
    ])  # fmt: skip
    felidae = Taxon.objects.get(rank="family", scientific_name="Felidae")
    VernacularName.objects.create(taxon=felidae, name="Félidés", language="fr", preferred=True)
    return puma


def common_name(client, path, **params_and_headers):
    headers = {key: value for key, value in params_and_headers.items() if key.startswith("HTTP_")}
    params = {key: value for key, value in params_and_headers.items() if not key.startswith("HTTP_")}
    response = client.get(path, params, **headers)
    assert response.status_code == 200, response.content
    body = response.json()
    return body["results"][0]["common_name"] if "results" in body else body["common_name"], response


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fr", "Puma"),  # the preferred French name, not the other one
        ("pt-BR", "Suçuarana"),
        ("pt-br", "Suçuarana"),  # tags are case-insensitive
        ("pt-PT", "Onça-parda"),  # pt-PT is not supported: pt
        ("de", "Cougar"),  # supported, but no German name: the default language
        ("xx", "Cougar"),  # well-formed, unknown: the default
        ("en", "Cougar"),
    ],
)
def test_lang_chooses_the_name_with_its_fallback_chain(client, puma, lang, expected):
    for path, params in ((ORGANISMS, {}), (f"{ORGANISMS}{puma.slug}/", {}), (f"{ORGANISMS}autocomplete/", {"q": "pu"})):
        name, response = common_name(client, path, lang=lang, **params)
        assert name == expected, path
    assert response["Content-Language"] in ("fr", "pt-BR", "pt", "de", "en")


def test_accept_language_decides_when_lang_is_absent(client, puma):
    name, response = common_name(client, ORGANISMS, HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5")
    assert name == "León de montaña"
    assert response["Content-Language"] == "es"
    assert "Accept-Language" in response["Vary"]
    name, response = common_name(client, ORGANISMS, lang="fr", HTTP_ACCEPT_LANGUAGE="es")
    assert name == "Puma"  # lang wins
    assert "Accept-Language" not in response.get("Vary", "")


def test_a_name_missing_everywhere_falls_back_to_the_scientific_name(client, puma):
    genus = Taxon.objects.get(rank="genus", scientific_name="Puma")
    name, _ = common_name(client, f"{TAXA}{genus.pk}/", lang="fr")
    assert name == "Puma"  # the genus has no names at all
    felidae = Taxon.objects.get(rank="family", scientific_name="Felidae")
    assert common_name(client, f"{TAXA}{felidae.pk}/", lang="fr")[0] == "Félidés"
    assert common_name(client, f"{TAXA}{felidae.pk}/", lang="es")[0] == "Felidae"


def test_taxa_speak_the_language_in_lists_breadcrumbs_and_suggestions(client, puma):
    species = client.get(f"{TAXA}{puma.taxon_id}/", {"lang": "fr"}).json()
    assert species["common_name"] == "Puma"
    assert [a["common_name"] for a in species["ancestors"]][-2:] == ["Félidés", "Puma"]  # family, genus
    assert {(n["name"], n["language"]) for n in species["common_names"]} >= {("Suçuarana", "pt-BR"), ("Puma", "fr")}
    listed = client.get(TAXA, {"rank": "family", "lang": "fr"}).json()["results"]
    assert listed[0]["common_name"] == "Félidés"
    suggested = client.get(f"{TAXA}autocomplete/", {"q": "felid", "lang": "fr"}).json()["results"]
    assert suggested[0]["common_name"] == "Félidés"


def test_organism_detail_lists_every_common_name(client, puma):
    body = client.get(f"{ORGANISMS}{puma.slug}/").json()
    assert body["common_name"] == "Cougar"
    assert body["taxon"] == puma.taxon_id  # what a write's `taxon` takes
    assert {(n["name"], n["language"], n["preferred"]) for n in body["common_names"]} == {
        ("Cougar", "en", True), ("Puma", "fr", True), ("Couguar", "fr", False), ("León de montaña", "es", True),
        ("Onça-parda", "pt", True), ("Suçuarana", "pt-BR", True),
    }  # fmt: skip


@pytest.mark.parametrize("bad", ["english!", "pt_BR", "x" * 36, "en-"])
@pytest.mark.parametrize("path", [ORGANISMS, TAXA, f"{ORGANISMS}autocomplete/", "detail"])
def test_a_malformed_lang_is_a_400_in_the_envelope(client, puma, bad, path):
    path = f"{ORGANISMS}{puma.slug}/" if path == "detail" else path
    response = client.get(path, {"lang": bad, **({"q": "pu"} if "autocomplete" in path else {})})
    assert response.status_code == 400
    assert "lang" in response.json()["error"]["fields"]


@pytest.mark.parametrize("header", ["english!", "pt_BR;q=2", "x" * 5000, ";;;,,,"])
def test_a_malformed_accept_language_is_ignored_not_refused(client, puma, header):
    name, response = common_name(client, ORGANISMS, HTTP_ACCEPT_LANGUAGE=header)
    assert name == "Cougar" and response["Content-Language"] == "en"


def test_ten_thousand_accept_language_headers_make_one_key_per_supported_language(puma, page_cache):
    route = routes.route_for(ORGANISMS)
    factory = RequestFactory()
    keys = set()
    spellings = ["fr", "fr-FR", "FR-ca", "fr;q=0.9", "es-MX", "es", "pt-BR", "pt-br", "de-AT", "xx", "*", ""]
    for index in range(10_000):
        header = f"{spellings[index % len(spellings)]},zz-{index % 97:02d};q=0.{index % 9}"
        keys.add(routes.page_key(route, factory.get(ORGANISMS, HTTP_ACCEPT_LANGUAGE=header).environ))
    assert len(keys) == 5  # fr, es, pt-BR, de, en (the default, for xx, * and nothing)
    lang_spellings = [factory.get(ORGANISMS, {"lang": tag}).environ for tag in ["fr", "FR", "fr-FR", "fr-BE"]]
    assert len({routes.page_key(route, environ) for environ in lang_spellings}) == 1


@pytest.mark.django_db(transaction=True)
def test_the_page_cache_serves_each_language_its_own_page(wsgi, page_cache, puma):
    french = wsgi("GET", ORGANISMS, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert french["X-Cache"] == "MISS" and french.json()["results"][0]["common_name"] == "Puma"
    spanish = wsgi("GET", ORGANISMS, HTTP_ACCEPT_LANGUAGE="es")
    assert spanish["X-Cache"] == "MISS" and spanish.json()["results"][0]["common_name"] == "León de montaña"
    again = wsgi("GET", ORGANISMS, HTTP_ACCEPT_LANGUAGE="fr-CA, fr;q=0.5")  # another spelling, same language
    assert again["X-Cache"] == "HIT" and again.json()["results"][0]["common_name"] == "Puma"
    assert again["Content-Language"] == "fr"
    by_param = wsgi("GET", ORGANISMS, {"lang": "FR-fr"}, HTTP_ACCEPT_LANGUAGE="es")
    assert by_param.json()["results"][0]["common_name"] == "Puma"
    assert wsgi("GET", ORGANISMS, {"lang": "fr"})["X-Cache"] == "HIT"  # lang=FR-fr was keyed as lang=fr
    renamed = VernacularName.objects.get(name="Puma", language="fr")
    renamed.name = "Puma concolore"
    renamed.save()
    fresh = wsgi("GET", ORGANISMS, HTTP_ACCEPT_LANGUAGE="fr")
    assert fresh["X-Cache"] == "MISS" and fresh.json()["results"][0]["common_name"] == "Puma concolore"
    bad = wsgi("GET", ORGANISMS, {"lang": "not a tag"})
    assert bad.status_code == 400 and "lang" in bad.json()["error"]["fields"]
