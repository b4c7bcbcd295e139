"""Liveness: answers at once, touches no dependency; deployed, answered before the page cache and Django."""

from biomuseum.pagecache import PageCacheApp


def test_health_answers_status_version_and_uptime(client):
    # No django_db mark: a database query here would fail the test.
    response = client.get("/ops/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["uptime_seconds"] >= 0
    assert "no-cache" in response["Cache-Control"]


def test_health_api_alias_answers_the_same(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_health_is_answered_before_the_page_cache_and_django(wsgi, monkeypatch):
    def broken(self, environ, start_response):
        raise AssertionError("the health probe reached the page cache")

    monkeypatch.setattr(PageCacheApp, "__call__", broken)
    for path in ("/ops/health/", "/api/health"):
        response = wsgi("GET", path)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response["Content-Type"] == "application/json"
        assert "no-store" in response["Cache-Control"]
        assert response["X-Request-ID"]
        assert response["X-Response-Time"].endswith("ms")


def test_health_head_has_headers_and_no_body(wsgi):
    response = wsgi("HEAD", "/ops/health/")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response["Content-Length"]) > 0
