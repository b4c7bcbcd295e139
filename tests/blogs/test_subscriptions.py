"""Subscriptions: double opt-in, no address enumeration, signed and expiring links, one-click unsubscribe."""

import re

import pytest
from django.core import mail, signing

from blogs.models import Subscriber, SubscriberStatus
from blogs.notifications import make_token

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/api/v1/subscriptions/"


def subscribe(api_client, email: str, capture):
    with capture(execute=True):
        return api_client.post(SUBSCRIBE, {"email": email}, format="json")


def link_in(message) -> str:
    return re.search(r"https?://\S+/api/v1/subscriptions/confirm/\?token=\S+", message.body).group(0)


def test_subscribe_sends_a_confirmation_with_both_parts(api_client, eager_jobs, django_capture_on_commit_callbacks):
    response = subscribe(api_client, "Ada@Example.org", django_capture_on_commit_callbacks)
    assert response.status_code == 202
    assert Subscriber.objects.get().email == "ada@example.org"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert "Confirm" in message.subject
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and link_in(message).split("token=")[1] in html


def test_subscribe_answers_the_same_for_new_pending_and_confirmed(
    api_client, eager_jobs, django_capture_on_commit_callbacks
):
    bodies = []
    for _ in range(2):
        bodies.append(subscribe(api_client, "bo@example.org", django_capture_on_commit_callbacks).json())
    Subscriber.objects.filter(email="bo@example.org").update(status=SubscriberStatus.CONFIRMED)
    bodies.append(subscribe(api_client, "bo@example.org", django_capture_on_commit_callbacks).json())
    assert bodies[0] == bodies[1] == bodies[2]
    assert len(mail.outbox) == 2  # pending: sent again; confirmed: nothing to send


def test_confirm_link_confirms_with_a_post_and_can_be_used_twice(
    api_client, eager_jobs, django_capture_on_commit_callbacks
):
    subscribe(api_client, "cy@example.org", django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0]).split("testserver")[-1]
    for _ in range(2):
        response = api_client.post(link)
        assert response.status_code == 200
        assert response.json() == {"status": "confirmed"}
    assert Subscriber.objects.get().status == SubscriberStatus.CONFIRMED


def test_confirm_link_followed_by_get_or_head_changes_nothing(
    api_client, eager_jobs, django_capture_on_commit_callbacks
):
    """Mail scanners fetch links: consent takes the POST behind the page's button."""
    subscribe(api_client, "scanned@example.org", django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0]).split("testserver")[-1]
    assert api_client.head(link).status_code == 200
    assert api_client.get(link).json() == {"status": "pending"}
    page = api_client.get(link, HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert b'<form method="post"' in page.content and b"Confirm my subscription" in page.content
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def test_confirm_link_sent_before_an_unsubscribe_does_not_revive_it(
    api_client, eager_jobs, django_capture_on_commit_callbacks
):
    subscribe(api_client, "left@example.org", django_capture_on_commit_callbacks)
    confirm = link_in(mail.outbox[0]).split("testserver")[-1]
    assert api_client.post(confirm).json() == {"status": "confirmed"}
    subscriber = Subscriber.objects.get()
    from blogs.notifications import unsubscribe_url

    assert api_client.post(unsubscribe_url(subscriber).split("testserver")[-1].split("8000")[-1]).status_code == 200
    response = api_client.post(confirm)  # the old link, still within its three days
    assert response.status_code == 400
    assert "unsubscribed" in response.json()["error"]["fields"]["token"][0]
    assert api_client.head(confirm).status_code == 200
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED


@pytest.mark.parametrize("token", ["", "garbage", "a" * 2000])
def test_confirm_refuses_malformed_tokens(api_client, token):
    response = api_client.get(f"/api/v1/subscriptions/confirm/?token={token}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["token"]


def test_confirm_refuses_expired_tampered_and_wrong_purpose_tokens(api_client, settings):
    subscriber = Subscriber.objects.create(email="di@example.org")
    good = make_token(subscriber, "confirm")
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for token in (tampered, make_token(subscriber, "unsubscribe")):
        assert api_client.get(f"/api/v1/subscriptions/confirm/?token={token}").status_code == 400
    settings.SUBSCRIPTION_CONFIRM_MAX_AGE = -1
    assert api_client.get(f"/api/v1/subscriptions/confirm/?token={good}").status_code == 400
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def test_confirm_token_for_a_changed_address_is_refused(api_client):
    subscriber = Subscriber.objects.create(email="ed@example.org")
    forged = signing.dumps({"id": subscriber.pk, "email": "other@example.org", "for": "confirm"}, salt="wrong-salt")
    assert api_client.get(f"/api/v1/subscriptions/confirm/?token={forged}").status_code == 400


def test_unsubscribe_get_changes_nothing_and_one_click_post_unsubscribes(api_client):
    subscriber = Subscriber.objects.create(email="fa@example.org", status=SubscriberStatus.CONFIRMED)
    url = f"/api/v1/subscriptions/unsubscribe/?token={make_token(subscriber, 'unsubscribe')}"
    assert api_client.get(url).json() == {"status": "confirmed"}
    response = api_client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.json() == {"status": "unsubscribed"}
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED and subscriber.unsubscribed_at


@pytest.mark.parametrize("email", ["not-an-address", "a@b", "x" * 300 + "@example.org", ""])
def test_subscribe_rejects_bad_addresses(api_client, email):
    response = api_client.post(SUBSCRIBE, {"email": email}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]
    assert not Subscriber.objects.exists()


def test_subscribe_refuses_unknown_fields(api_client):
    response = api_client.post(SUBSCRIBE, {"email": "go@example.org", "status": "confirmed"}, format="json")
    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_subscribe_is_rate_limited_per_address_and_per_ip(api_client, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "subscribe-address": ("2/h",), "subscribe-ip": ("4/h",)}
    same = [api_client.post(SUBSCRIBE, {"email": "hi@example.org"}, format="json").status_code for _ in range(3)]
    assert same == [202, 202, 429]
    others = [api_client.post(SUBSCRIBE, {"email": f"u{i}@example.org"}, format="json").status_code for i in range(2)]
    assert others == [202, 429]  # the address's limit spent two of this IP's four
    limited = api_client.post(SUBSCRIBE, {"email": "zz@example.org"}, format="json")
    assert limited.json()["error"]["code"] == "throttled" and limited["Retry-After"]


@pytest.fixture
def tight_link_limit(settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "subscription-link": ("3/m",)}


def test_confirm_is_rate_limited_per_ip_with_429_envelope_and_headers(api_client, tight_link_limit):
    subscriber = Subscriber.objects.create(email="ja@example.org")
    url = f"/api/v1/subscriptions/confirm/?token={make_token(subscriber, 'confirm')}"
    responses = [api_client.get(url) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    limited = responses[3]
    body = limited.json()
    assert body["error"]["status"] == 429 and body["error"]["code"] == "throttled"
    assert body["retry_after"] == int(limited["Retry-After"]) >= 1
    assert limited["RateLimit-Limit"] == "3" and limited["RateLimit-Remaining"] == "0"
    assert 0 <= int(limited["RateLimit-Reset"]) <= 60
    assert api_client.get(url, REMOTE_ADDR="198.51.100.7").status_code == 200  # another client


def test_unsubscribe_is_rate_limited_per_ip_before_it_changes_anything(api_client, tight_link_limit):
    subscriber = Subscriber.objects.create(email="ka@example.org", status=SubscriberStatus.CONFIRMED)
    url = f"/api/v1/subscriptions/unsubscribe/?token={make_token(subscriber, 'unsubscribe')}"
    assert [api_client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = api_client.post(url)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled"
    assert int(limited["Retry-After"]) >= 1 and limited["RateLimit-Limit"] == "3"
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.CONFIRMED
    assert api_client.post(url, REMOTE_ADDR="198.51.100.7").json() == {"status": "unsubscribed"}


def test_confirm_and_unsubscribe_links_share_one_limit(api_client, tight_link_limit):
    subscriber = Subscriber.objects.create(email="la@example.org")
    confirm = f"/api/v1/subscriptions/confirm/?token={make_token(subscriber, 'confirm')}"
    unsubscribe = f"/api/v1/subscriptions/unsubscribe/?token={make_token(subscriber, 'unsubscribe')}"
    statuses = [
        api_client.get(url).status_code for url in (confirm, unsubscribe, "/api/v1/subscriptions/confirm/?token=x")
    ]
    assert statuses == [200, 200, 400]  # a bad link counts too: that is what guessing looks like
    assert api_client.get(unsubscribe).status_code == 429
