"""Email jobs with every part real: the API under gunicorn, a Celery worker on a throwaway Redis broker,
an SMTP server on loopback. Links in the messages are followed back to the API; a post reaches each
subscriber exactly once, however often it is sent."""

import json
import re
from collections import Counter

import pytest

from .processes import JobStack, http, prepared_database, wait_until

pytestmark = pytest.mark.integration

SUBSCRIBE = "/api/v1/subscriptions/"
CONFIRM_SUBJECT = "Confirm your subscription to the BioMuseum blog"
SETUP = """
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token

editor = User.objects.create_user("editor", is_staff=True)
editor.user_permissions.add(Permission.objects.get(codename="add_post"))
print(Token.objects.create(user=editor).key)
"""
# Run in `manage.py shell` while the worker is still sending a post's notifications: queue the post again
# through the worker, send all its deliveries from this process as well, and wait until every one is sent.
SEND_AGAIN = """
import json, time
from collections import Counter
from blogs import notifications
from blogs.models import Delivery, Post
from blogs.tasks import notify_subscribers

post = Post.objects.get(slug={slug!r})
deliveries = Delivery.objects.filter(post=post)
notify_subscribers.delay(post.pk)
deadline = time.monotonic() + 60
while not deliveries.exists() and time.monotonic() < deadline:
    time.sleep(0.1)
sent_here = notifications.send_deliveries(post.pk, list(deliveries.values_list("pk", flat=True)))
while deliveries.exclude(status="sent").exists() and time.monotonic() < deadline:
    time.sleep(0.1)
print(json.dumps({{"sent_here": sent_here, "statuses": Counter(deliveries.values_list("status", flat=True))}}))
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return prepared_database(tmp_path_factory.mktemp("email-jobs-db"), SETUP)


@pytest.fixture
def token(database) -> str:
    return database[1]


@pytest.fixture
def stack(tmp_path, database):
    stack = JobStack(tmp_path, database[0])
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture
def busy_smtp_stack(tmp_path, database):
    """The mail server takes a tenth of a second per message: a post's notifications take a while to go out."""
    stack = JobStack(tmp_path, database[0], smtp_delay=0.1)
    try:
        yield stack.start()
    finally:
        stack.stop()


def text_and_html(message) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None, "a text/plain and a text/html part"
    return plain.get_content(), html.get_content()


def link(text: str, path: str) -> str:
    [url] = {url for url in re.findall(r"https?://[^\s\"'<>]+", text) if path in url}
    return url


def publish(stack: JobStack, token: str, title: str) -> dict:
    body = {"title": title, "body": "Seen at dawn above the tree line.", "status": "published"}
    status, _, post = stack.api("POST", "/api/v1/posts/", token=token, data=body)
    assert status == 201, post
    return post


def test_subscriber_confirms_is_notified_and_unsubscribes_with_one_click(stack, token):
    reader, canary = "reader@example.org", "canary@example.org"
    answers = [stack.api("POST", SUBSCRIBE, data={"email": address}) for address in (reader, reader, canary)]
    assert [status for status, _, _ in answers] == [202, 202, 202]
    assert answers[0][2] == answers[1][2]  # asking again answers as the first time: nothing to learn from it

    # Each request sends the link (someone asking again has probably lost the first message).
    confirmations = wait_until(
        lambda: len(stack.smtp.messages_to(reader)) == 2 and stack.smtp.messages_to(reader),
        timeout=30,
        what="two confirmations to reach the SMTP server",
    )
    for message in confirmations:
        assert message["To"] == reader
        assert message["Subject"] == CONFIRM_SUBJECT
        text, html = text_and_html(message)
        assert link(text, "/subscriptions/confirm/") == link(html, "/subscriptions/confirm/")
    confirm = link(text_and_html(confirmations[0])[0], "/subscriptions/confirm/")
    assert confirm.startswith(stack.web.url)
    assert http("HEAD", confirm)[0] == 200  # what a mail scanner sends: it changes nothing
    status, _, body = stack.api("GET", confirm)
    assert (status, body) == (200, {"status": "pending"})
    status, _, page = stack.api("GET", confirm, Accept="text/html")  # a person's browser: a page with a button
    assert status == 200 and b'<form method="post"' in page
    status, _, body = stack.api("POST", confirm)
    assert (status, body) == (200, {"status": "confirmed"})
    [canary_confirmation] = wait_until(
        lambda: stack.smtp.messages_to(canary), timeout=30, what="the second address's confirmation"
    )
    assert stack.api("POST", link(text_and_html(canary_confirmation)[0], "/confirm/"))[0] == 200

    first = publish(stack, token, "Snow leopards on camera")
    [notification] = wait_until(
        lambda: [m for m in stack.smtp.messages_to(reader) if m["Subject"] == first["title"]],
        timeout=30,
        what="the new post's notification",
    )
    assert notification["To"] == reader
    assert notification["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A long header is folded; unfolded, the value may keep the folding's leading space.
    unsubscribe = re.fullmatch(r"<(https?://[^>]+)>", notification["List-Unsubscribe"].strip()).group(1)
    assert unsubscribe.startswith(stack.web.url)
    text, html = text_and_html(notification)
    assert link(text, "/api/v1/posts/") == link(html, "/api/v1/posts/")
    status, _, post = stack.api("GET", link(text, "/api/v1/posts/"))
    assert status == 200
    assert post["title"] == first["title"]

    one_click = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, body = stack.api("POST", unsubscribe, body=b"List-Unsubscribe=One-Click", **one_click)
    assert (status, body) == (200, {"status": "unsubscribed"})

    second = publish(stack, token, "The leopards return")
    wait_until(
        lambda: [m for m in stack.smtp.messages_to(canary) if m["Subject"] == second["title"]],
        timeout=30,
        what="the next post to reach the subscriber who stayed",
    )
    notifications = [m["Subject"] for m in stack.smtp.messages_to(reader) if m["Subject"] != CONFIRM_SUBJECT]
    assert notifications == [first["title"]]  # the second went to the canary, not to the address that left


def test_each_subscriber_gets_a_post_exactly_once_however_often_it_is_sent(busy_smtp_stack, token):
    stack = busy_smtp_stack
    readers = [f"reader{number}@example.org" for number in range(30)]
    created = stack.shell(
        "from blogs.models import Subscriber, SubscriberStatus\n"
        f"confirmed = [Subscriber(email=a, status=SubscriberStatus.CONFIRMED) for a in {readers!r}]\n"
        "print(len(Subscriber.objects.bulk_create(confirmed)))"
    )
    assert created == "30"
    post = publish(stack, token, "Thirty readers")
    outcome = json.loads(stack.shell(SEND_AGAIN.format(slug=post["slug"])))

    assert outcome["statuses"] == {"sent": 30}
    received = Counter(stack.smtp.recipients())
    assert received == dict.fromkeys(readers, 1)
