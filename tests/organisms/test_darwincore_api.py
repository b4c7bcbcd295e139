"""GET /api/v1/exports/dwca.zip through the deployed WSGI application: a zip anyone may fetch, with public
caching headers and 304s, built once per generation of the catalogue and never stale after a committed edit."""

import io
import zipfile
from pathlib import Path

import pytest
from dwca.read import DwCAReader

from organisms import services
from organisms.darwincore import published, terms
from organisms.models import Organism
from tests.factories import OrganismFactory

URL = "/api/v1/exports/dwca.zip"
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("page_cache")]


def statuses(body: bytes, tmp_path: Path) -> dict[str, str]:
    """{scientificName: threatStatus} of the archive `body`, as python-dwca-reader reads it."""
    path = tmp_path / "fetched.zip"
    path.write_bytes(body)
    found = {}
    with DwCAReader(str(path)) as archive:
        for row in archive:
            for extension in row.extensions:
                if extension.rowtype == terms.DISTRIBUTION:
                    found[row.data[terms.TERMS["scientificName"]]] = extension.data[terms.TERMS["threatStatus"]]
    return found


def kept_archives(settings) -> list[Path]:
    return sorted(Path(settings.DWCA_EXPORT_DIR).glob("dwca-*.zip"))


def test_dwca_endpoint_answers_a_zip_attachment_with_public_caching_headers(wsgi, tmp_path, settings):
    OrganismFactory(scientific_name="Puma concolor", genus="Puma", conservation_status="VU")
    response = wsgi("GET", URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="dwca.zip"'
    assert response["Cache-Control"].startswith(f"public, max-age={settings.PAGE_CACHE_MAX_AGE}")
    assert response["ETag"].startswith('"') and not response["ETag"].startswith("W/")
    assert int(response["Content-Length"]) == len(response.content)
    assert response["RateLimit-Limit"]  # counted as a public read
    assert statuses(response.content, tmp_path) == {"Puma concolor": "VU"}


def test_dwca_endpoint_answers_304_to_the_current_etag(wsgi):
    OrganismFactory()
    etag = wsgi("GET", URL)["ETag"]
    not_modified = wsgi("GET", URL, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert wsgi("GET", URL, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_dwca_endpoint_builds_once_per_generation(wsgi, settings, monkeypatch):
    OrganismFactory()
    builds = []
    build = published._build
    monkeypatch.setattr(published, "_build", lambda target: builds.append(1) or build(target))
    first, second = wsgi("GET", URL), wsgi("GET", URL)
    assert len(builds) == 1
    assert first.content == second.content and first["ETag"] == second["ETag"]
    assert len(kept_archives(settings)) == 1


def test_dwca_endpoint_serves_the_new_catalogue_after_a_committed_edit(wsgi, tmp_path, settings):
    organism = OrganismFactory(scientific_name="Puma concolor", genus="Puma", conservation_status="VU")
    before = wsgi("GET", URL)
    assert statuses(before.content, tmp_path) == {"Puma concolor": "VU"}
    services.organism_update(organism=Organism.objects.get(pk=organism.pk), user=None, conservation_status="EN")
    after = wsgi("GET", URL, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200  # the old ETag no longer matches
    assert after["ETag"] != before["ETag"]
    assert statuses(after.content, tmp_path) == {"Puma concolor": "EN"}
    assert len(kept_archives(settings)) == 1  # the older generation's archive is gone
    OrganismFactory(scientific_name="Panthera leo", genus="Panthera", conservation_status="LC", is_published=False)
    services.organism_set_published(organisms=Organism.objects.filter(is_published=False), published=True, user=None)
    assert statuses(wsgi("GET", URL).content, tmp_path) == {"Puma concolor": "EN", "Panthera leo": "LC"}


def test_dwca_endpoint_with_the_page_cache_off_builds_every_time(wsgi, settings, tmp_path):
    settings.PAGE_CACHE_ENABLED = False
    organism = OrganismFactory(scientific_name="Puma concolor", genus="Puma", conservation_status="VU")
    assert statuses(wsgi("GET", URL).content, tmp_path) == {"Puma concolor": "VU"}
    Organism.objects.filter(pk=organism.pk).update(conservation_status="CR")  # no signal, no bump
    assert statuses(wsgi("GET", URL).content, tmp_path) == {"Puma concolor": "CR"}
    assert kept_archives(settings) == []


def test_dwca_endpoint_head_sends_the_headers_only(wsgi):
    OrganismFactory()
    head, get = wsgi("HEAD", URL), wsgi("GET", URL)
    assert head.status_code == 200 and head.content == b""
    assert head["ETag"] == get["ETag"] and head["Content-Length"] == str(len(get.content))


def test_dwca_endpoint_is_anonymous_and_rate_limited(wsgi, settings):
    OrganismFactory()
    bad_token = wsgi("GET", URL, HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    assert bad_token.status_code == 200  # credentials are not read: the same archive for everyone
    assert zipfile.is_zipfile(io.BytesIO(bad_token.content))
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("1/m",)}
    answers = [wsgi("GET", URL, HTTP_ACCEPT="application/zip") for _ in range(3)]
    limited = answers[-1]
    assert limited.status_code == 429
    assert limited["Content-Type"].startswith("application/json")
    assert limited.json()["error"]["status"] == 429 and limited["Retry-After"]


def test_the_archive_refuses_unknown_parameters_and_ignores_tracking_ones(api_client):
    response = api_client.get("/api/v1/exports/dwca.zip?format=csv")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"format": ["Unknown query parameter."]}
    assert api_client.get("/api/v1/exports/dwca.zip?utm_source=newsletter").status_code == 200
