"""The ops and health views are GET-only: an unsafe method is their JSON 405, never a CSRF 403."""

import pytest
from django.conf import settings

from tests.factories import UserFactory

GET_ONLY_PATHS = ("/ops/pools/", "/ops/metrics", "/ops/ready/", "/ops/health/", "/api/health")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", GET_ONLY_PATHS)
def test_views_unsafe_methods_are_a_json_405_with_allow(wsgi, path, method):
    # Through the deployed WSGI application, where CsrfViewMiddleware enforces (Django's test client does not).
    response = wsgi(method, path)
    assert response.status_code == 405, response.content
    assert response["Allow"] == "GET, HEAD"
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == "method_not_allowed"
    assert body["error"]["status"] == 405
    assert method in body["error"]["message"]
    assert body["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize("path", GET_ONLY_PATHS)
def test_views_unsafe_method_with_a_staff_session_and_no_csrf_token_is_a_405(db, wsgi, client, path):
    """A signed-in staff member's browser, tricked into a cross-site POST: refused before the view runs."""
    client.force_login(UserFactory(is_staff=True))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = wsgi("POST", path, HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={session}")
    assert response.status_code == 405, response.content
    assert response.json()["error"]["code"] == "method_not_allowed"
