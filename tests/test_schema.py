import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command


def test_openapi_schema_validates(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert "/api/v1/organisms/" in schema["paths"]
    assert "/api/v1/posts/{slug}/" in schema["paths"]
    list_params = {p["name"] for p in schema["paths"]["/api/v1/organisms/"]["get"]["parameters"]}
    assert {"cursor", "page_size", "fields", "search", "kingdom", "class", "conservation_status"} <= list_params


@pytest.mark.django_db
def test_schema_endpoint_serves_openapi(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.django_db
def test_docs_page_uses_only_bundled_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
