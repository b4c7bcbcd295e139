import json

import pytest
from django.test import Client

from tests.factories import OrganismFactory

pytestmark = pytest.mark.django_db


def assert_envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    assert body["request_id"] == response["X-Request-ID"]
    if code:
        assert body["error"]["code"] == code
    return body


def test_unknown_api_path_is_json_404(client):
    assert_envelope(client.get("/api/v1/nothing-here/"), 404, "not_found")
    assert_envelope(client.get("/ops/nothing-here/"), 404, "not_found")


def test_unknown_site_path_stays_html(client):
    response = client.get("/not-the-api/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_wrong_method_is_json_405(client):
    assert_envelope(client.post("/api/v1/organisms/autocomplete/?q=a"), 405, "method_not_allowed")
    response = client.generic("TRACE", "/api/v1/organisms/")
    assert_envelope(response, 405, "method_not_allowed")


def test_bad_json_is_400(token_client):
    client = token_client("organisms.add_organism")
    response = client.generic("POST", "/api/v1/organisms/", "{not json", content_type="application/json")
    assert_envelope(response, 400, "parse_error")


def test_json_array_body_is_400(token_client):
    client = token_client("organisms.add_organism")
    response = client.generic("POST", "/api/v1/organisms/", "[1, 2]", content_type="application/json")
    assert_envelope(response, 400)


def test_oversized_json_body_is_413(token_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = token_client("organisms.add_organism")
    body = json.dumps({"common_name": "x" * 20_000})
    response = client.generic("POST", "/api/v1/organisms/", body, content_type="application/json")
    assert_envelope(response, 413, "too_large")


def test_too_many_form_fields_is_400(token_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    client = token_client("organisms.add_organism")
    response = client.post("/api/v1/organisms/", {f"field{i}": "x" for i in range(80)})
    assert_envelope(response, 400)


def test_unsupported_media_type_is_415(token_client):
    client = token_client("organisms.add_organism")
    response = client.generic("POST", "/api/v1/organisms/", "<x/>", content_type="application/xml")
    assert_envelope(response, 415)


def test_unhandled_error_is_json_500_with_error_id(settings):
    settings.ROOT_URLCONF = "tests.urls_raising"
    client = Client(raise_request_exception=False)
    body = assert_envelope(client.get("/api/v1/boom/"), 500, "server_error")
    assert len(body["error_id"]) >= 16
    assert "unexpected failure" not in json.dumps(body)


def test_unhandled_error_outside_api_is_html(settings):
    settings.ROOT_URLCONF = "tests.urls_raising"
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_request_id_is_taken_from_client_when_sane(client):
    OrganismFactory()
    sane = client.get("/api/v1/organisms/", HTTP_X_REQUEST_ID="abc-12345-def")
    assert sane["X-Request-ID"] == "abc-12345-def"
    hostile = client.get("/api/v1/organisms/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert hostile["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(hostile["X-Request-ID"]) == 32


def test_model_validation_inside_a_view_is_400_not_500(rf):
    from django.core.exceptions import ValidationError as DjangoValidationError
    from rest_framework.request import Request

    from biomuseum.errors import api_exception_handler

    request = Request(rf.get("/api/v1/organisms/"))
    request.request_id = "r-12345678"
    for exc in (DjangoValidationError({"slug": ["Taken."]}), DjangoValidationError("Not allowed.")):
        response = api_exception_handler(exc, {"request": request, "view": None})
        assert response.status_code == 400
        assert response.data["error"]["code"] == "invalid"
        assert response.data["request_id"] == "r-12345678"
    assert response.data["error"]["message"] == "Not allowed."
