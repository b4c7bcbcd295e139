import pytest
from django.core.management import call_command

from tests.factories import OrganismFactory, PostFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("page_cache")]


def test_warm_cache_renders_lists_filters_and_details_into_the_cache(wsgi, capsys, settings):
    settings.ALLOWED_HOSTS = ["museum.test"]
    organisms = OrganismFactory.create_batch(25)
    post = PostFactory()
    call_command("warm_cache", "--pages", "2", "--details", "5", "--base-url", "https://museum.test")
    out = capsys.readouterr().out
    assert "Warmed" in out and "detail pages" in out
    host = {"HTTP_HOST": "museum.test", "wsgi.url_scheme": "https"}
    first_page = wsgi("GET", "/api/v1/organisms/", **host)
    assert first_page["X-Cache"] == "HIT"
    assert first_page.json()["next"].startswith("https://museum.test/")
    second_page = first_page.json()["next"].split("museum.test")[1]
    assert wsgi("GET", second_page, **host)["X-Cache"] == "HIT"
    assert wsgi("GET", "/api/v1/organisms/?kingdom=Animalia", **host)["X-Cache"] == "HIT"
    assert wsgi("GET", f"/api/v1/posts/{post.slug}/", **host)["X-Cache"] == "HIT"
    newest = max(organisms, key=lambda o: o.updated_at)
    assert wsgi("GET", f"/api/v1/organisms/{newest.slug}/", **host)["X-Cache"] == "HIT"


def test_warm_cache_does_not_use_visitors_rate_limit(wsgi, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("2/m",)}
    OrganismFactory.create_batch(3)
    call_command("warm_cache", "--pages", "2", "--details", "3", "--base-url", "http://testserver")
    assert wsgi("GET", "/api/v1/organisms/").status_code == 200
