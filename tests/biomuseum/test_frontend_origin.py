"""What a frontend on another origin needs: absolute media URLs, cacheable renditions it may draw, CORS for
its dev server, and empty query parameters read as unset."""

import pytest

from biomuseum.serializers import media_url
from tests.factories import OrganismFactory, OrganismImageFactory

ORGANISMS = "/api/v1/organisms/"


@pytest.mark.django_db
def test_media_urls_are_absolute_from_the_request_or_the_cdn(api_client, settings):
    image = OrganismImageFactory()
    body = api_client.get(f"{ORGANISMS}{image.organism.slug}/").json()
    assert body["images"][0]["renditions"][0]["url"].startswith("http://testserver/media/")
    listed = api_client.get(ORGANISMS).json()["results"][0]
    assert listed["thumbnail"]["url"].startswith("http://testserver/media/")
    settings.MEDIA_BASE_URL = "https://cdn.example.org/museum/"
    body = api_client.get(f"{ORGANISMS}{image.organism.slug}/").json()
    assert body["images"][0]["srcset"]["webp"].startswith("https://cdn.example.org/museum/r/")
    assert media_url("https://elsewhere.example/x.webp") == "https://elsewhere.example/x.webp"
    settings.MEDIA_BASE_URL = ""
    settings.PUBLIC_BASE_URL = "https://museum.example"
    assert media_url("/media/renditions/a.webp") == "https://museum.example/media/renditions/a.webp"  # mail


@pytest.mark.django_db
def test_renditions_are_immutable_and_drawable_from_allowed_origins(wsgi, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:5173"]
    (tmp_path / "renditions" / "ab").mkdir(parents=True)
    (tmp_path / "renditions" / "ab" / "320.webp").write_bytes(b"RIFF....WEBP")
    response = wsgi("GET", "/media/renditions/ab/320.webp", HTTP_ORIGIN="http://localhost:5173")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"
    other = wsgi("GET", "/media/renditions/ab/320.webp", HTTP_ORIGIN="https://evil.example")
    assert other.get("Access-Control-Allow-Origin") is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_dev_server_origins_by_pattern_on_cached_pages_too(wsgi, settings):
    settings.CORS_ALLOWED_ORIGIN_REGEXES = [r"^http://(localhost|127\.0\.0\.1|\[::1\]):\d+$"]  # DEBUG's default
    OrganismFactory()
    for _ in range(2):  # rendered, then a hit answered by the page cache itself
        response = wsgi("GET", ORGANISMS, HTTP_ORIGIN="http://localhost:5173")
        assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response["X-Cache"] == "HIT"
    assert wsgi("GET", ORGANISMS, HTTP_ORIGIN="http://localhost.evil:80").get("Access-Control-Allow-Origin") is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("page_cache")
def test_empty_query_parameters_mean_not_set(wsgi):
    OrganismFactory.create_batch(3)
    plain = wsgi("GET", ORGANISMS)
    for query in ("search=", "search=&kingdom=", "conservation_status=&search=&page_size="):
        response = wsgi("GET", f"{ORGANISMS}?{query}")
        assert response.status_code == 200, query
        assert response.json() == plain.json()
        assert response["X-Cache"] == "HIT"  # the same page, one entry
    assert wsgi("GET", f"{ORGANISMS}autocomplete/?q=").status_code == 400  # a required one stays required
