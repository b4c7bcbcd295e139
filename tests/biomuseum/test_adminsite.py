"""The curators' admin site: the museum's name on every page, and a favicon where browsers look for one."""

import pytest
from django.contrib.staticfiles import finders

from tests.factories import UserFactory


@pytest.mark.django_db
def test_admin_pages_carry_the_museums_name(wsgi, client, settings):
    settings.MUSEUM_NAME = "Muséum de Lyon"
    login = wsgi("GET", "/admin/login/").content.decode()
    assert "<title>Log in | Muséum de Lyon curation</title>" in login
    assert '<div id="site-name"><a href="/admin/">Muséum de Lyon curation</a></div>' in login
    assert "Django administration" not in login
    client.force_login(UserFactory(is_staff=True))
    index = client.get("/admin/").content.decode()
    assert "<title>Collection and blog | Muséum de Lyon curation</title>" in index


@pytest.mark.django_db
def test_admin_pages_link_the_favicon(wsgi):
    page = wsgi("GET", "/admin/login/").content.decode()
    assert '<link rel="icon" href="/static/biomuseum/favicon.svg" type="image/svg+xml">' in page
    assert finders.find("biomuseum/favicon.svg") is not None


def test_favicon_ico_is_served_at_the_root(wsgi):
    response = wsgi("GET", "/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
