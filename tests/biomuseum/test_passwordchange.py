"""A one-time password (ensure_curator prints one) is replaced before the account does anything else."""

from io import StringIO

import pytest
from django.contrib.auth.management.commands import changepassword
from django.core.management import call_command

from biomuseum.models import RequiredPasswordChange
from biomuseum.passwordchange import must_change_password, password_change_require
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ONE_TIME = "correct horse battery staple"  # every factory user's password
NEW = "a passphrase of the curator's own"
PASSWORD_CHANGE = "/admin/password_change/"


@pytest.fixture
def curator():
    user = UserFactory(username="curator", is_staff=True, is_superuser=True)
    password_change_require(user=user)
    return user


def change_password(client, old: str = ONE_TIME, new: str = NEW):
    return client.post(PASSWORD_CHANGE, {"old_password": old, "new_password1": new, "new_password2": new})


def test_first_sign_in_leads_to_the_password_change_form(client, curator):
    signed_in = client.post("/admin/login/", {"username": "curator", "password": ONE_TIME})
    assert signed_in.status_code == 302
    for page in ("/admin/", "/admin/organisms/organism/", "/admin/blogs/post/add/", "/admin/auth/user/"):
        response = client.get(page)
        assert (response.status_code, response["Location"]) == (302, PASSWORD_CHANGE), page
    form = client.get(PASSWORD_CHANGE)
    assert form.status_code == 200
    assert "Choose a new password" in form.content.decode()
    assert client.post("/admin/logout/").status_code == 200  # the way out stays open


def test_after_the_change_the_admin_opens(client, curator):
    client.force_login(curator)
    response = change_password(client)
    assert (response.status_code, response["Location"]) == (302, "/admin/password_change/done/")
    assert client.get("/admin/password_change/done/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert not RequiredPasswordChange.objects.filter(user=curator).exists()


def test_the_one_time_password_is_not_its_own_replacement(client, curator):
    client.force_login(curator)
    response = change_password(client, new=ONE_TIME)
    assert response.status_code == 200
    assert "Choose a new password, not the one you were given." in response.content.decode()
    assert must_change_password(curator)


def test_changepassword_command_clears_the_requirement(curator, monkeypatch):
    monkeypatch.setattr(changepassword.getpass, "getpass", lambda prompt="": NEW)
    call_command("changepassword", "curator", stdout=StringIO())
    curator.refresh_from_db()
    assert curator.check_password(NEW)
    assert not must_change_password(curator)


def test_any_saved_password_change_clears_the_requirement(curator):
    curator.set_password(NEW)
    curator.save()
    assert not must_change_password(curator)


def test_saving_the_account_without_a_new_password_keeps_the_requirement(curator):
    curator.first_name = "Ada"
    curator.save()
    assert must_change_password(curator)


def test_api_token_is_refused_until_the_password_is_changed(api_client, curator):
    refused = api_client.post("/api/v1/auth/token/", {"username": "curator", "password": ONE_TIME})
    assert refused.status_code == 403
    assert "choose a new one first" in refused.json()["error"]["message"]
    curator.set_password(NEW)
    curator.save()
    granted = api_client.post("/api/v1/auth/token/", {"username": "curator", "password": NEW})
    assert granted.status_code == 200 and granted.json()["token"]


def test_accounts_without_a_one_time_password_are_not_stopped(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/admin/").status_code == 200
