"""New-post notifications: one delivery per post and subscriber, sent once, never skipped."""

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from blogs import notifications
from blogs.models import Delivery, DeliveryStatus, PostStatus, Subscriber, SubscriberStatus
from blogs.services import deliveries
from blogs.tasks import notify_due_posts, notify_subscribers
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribers():
    confirmed = [
        Subscriber.objects.create(email=f"r{i}@example.org", status=SubscriberStatus.CONFIRMED) for i in range(5)
    ]
    Subscriber.objects.create(email="pending@example.org")
    Subscriber.objects.create(email="gone@example.org", status=SubscriberStatus.UNSUBSCRIBED)
    return confirmed


def test_notify_sends_once_to_each_confirmed_subscriber(subscribers, eager_jobs, settings):
    settings.EMAIL_BATCH_SIZE = 2
    post = PostFactory(notifications_queued_at=None)
    notify_subscribers.delay(post.pk)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.email for s in subscribers)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    notify_subscribers.delay(post.pk)  # a re-run: nothing new
    assert len(mail.outbox) == len(subscribers)
    assert Delivery.objects.count() == len(subscribers)


def test_notification_has_both_parts_and_one_click_unsubscribe(subscribers, eager_jobs):
    post = PostFactory(title="The okapi returns", excerpt="A forest giraffe.")
    notify_subscribers.delay(post.pk)
    message = mail.outbox[0]
    assert message.subject == "The okapi returns"
    assert "A forest giraffe." in message.body and post.slug in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "The okapi returns" in html
    headers = message.extra_headers
    assert headers["List-Unsubscribe"].startswith("<http") and "/unsubscribe/?token=" in headers["List-Unsubscribe"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"].startswith("<delivery-")


def test_crash_mid_batch_neither_repeats_nor_skips(subscribers, settings):
    post = PostFactory()
    [batch] = notifications.queue_deliveries(post.pk)
    first, second, *rest = batch
    Delivery.objects.filter(pk=first).update(status=DeliveryStatus.SENT)  # sent before the crash
    assert deliveries.delivery_claim(delivery_id=second)  # claimed, then the worker died mid-send
    assert notifications.send_deliveries(post.pk, batch) == len(rest)  # the re-run sends the untouched ones
    assert Delivery.objects.get(pk=second).status == DeliveryStatus.SENDING
    settings.EMAIL_CLAIM_TIMEOUT = -1
    assert notifications.resumable_posts() == [post.pk]  # the dead claim goes back to pending
    assert notifications.send_deliveries(post.pk, batch) == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.email for s in subscribers if s.pk != subscribers[0].pk)


def test_unsubscribed_between_queueing_and_sending_gets_nothing(subscribers):
    post = PostFactory()
    [batch] = notifications.queue_deliveries(post.pk)
    Subscriber.objects.filter(pk=subscribers[0].pk).update(status=SubscriberStatus.UNSUBSCRIBED)
    assert notifications.send_deliveries(post.pk, batch) == len(subscribers) - 1
    assert subscribers[0].email not in [m.to[0] for m in mail.outbox]


def test_smtp_failure_is_retryable_and_loses_nothing(subscribers, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1  # nothing listens
    post = PostFactory()
    [batch] = notifications.queue_deliveries(post.pk)
    with pytest.raises(notifications.TransientMailError):
        notifications.send_deliveries(post.pk, batch)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


def test_due_posts_are_public_recent_and_not_yet_notified():
    now = timezone.now()
    due = PostFactory(published_at=now - timezone.timedelta(minutes=5), notifications_queued_at=None)
    PostFactory(published_at=now + timezone.timedelta(minutes=5))  # scheduled
    PostFactory(status=PostStatus.DRAFT, published_at=None)
    PostFactory(published_at=now - timezone.timedelta(days=30))  # too old to announce
    PostFactory(published_at=now - timezone.timedelta(minutes=1), notifications_queued_at=now)
    assert notifications.due_posts() == [due.pk]


def test_scheduled_post_is_announced_when_its_time_comes(subscribers, eager_jobs):
    post = PostFactory(published_at=timezone.now() + timezone.timedelta(hours=1))
    assert notify_due_posts() == 0
    post.published_at = timezone.now() - timezone.timedelta(seconds=1)
    post.save()
    assert notify_due_posts() == 1
    assert len(mail.outbox) == len(subscribers)
    assert notify_due_posts() == 0


def test_publishing_through_the_api_notifies(subscribers, token_client, eager_jobs, django_capture_on_commit_callbacks):
    client = token_client("blogs.add_post")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/posts/", {"title": "Fresh news", "body": "Hello.", "status": "published"}, format="json"
        )
    assert response.status_code == 201
    assert len(mail.outbox) == len(subscribers)
    with django_capture_on_commit_callbacks(execute=True):
        client_update = token_client("blogs.change_post")
        client_update.patch(f"/api/v1/posts/{response.json()['slug']}/", {"excerpt": "Edited."}, format="json")
    assert len(mail.outbox) == len(subscribers)  # an edit is not a new announcement


class PickyBackend(EmailBackend):
    """An SMTP server with opinions: some messages it refuses with a temporary error, some make it hang up."""

    refused: set[str] = set()
    hangs_up: set[str] = set()

    def send_messages(self, messages):
        for message in messages:
            if message.to[0] in self.refused:
                raise smtplib.SMTPDataError(451, b"4.3.0 Message rejected, try again later")
            if message.to[0] in self.hangs_up:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def picky_smtp(settings):
    settings.EMAIL_BACKEND = f"{__name__}.PickyBackend"
    yield PickyBackend
    PickyBackend.refused, PickyBackend.hangs_up = set(), set()


def send_until_done(post_id: int, batch: list[int], runs: int = 20) -> int:
    """What the task's retries and the beat resumes do, until nothing is left pending."""
    for run in range(1, runs + 1):
        try:
            notifications.send_deliveries(post_id, batch)
        except notifications.TransientMailError:
            continue
        if not Delivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            return run
    raise AssertionError("still pending")


def test_delivery_that_keeps_failing_fails_after_max_attempts_and_others_are_delivered(
    subscribers, picky_smtp, settings
):
    settings.EMAIL_MAX_ATTEMPTS = 3
    picky_smtp.refused = {subscribers[0].email}  # first in the batch: every run stops at it until it gives up
    post = PostFactory()
    [batch] = notifications.queue_deliveries(post.pk)
    assert send_until_done(post.pk, batch) == 4
    refused = Delivery.objects.get(subscriber=subscribers[0])
    assert (refused.status, refused.attempts) == (DeliveryStatus.FAILED, 3)
    assert "451" in refused.error
    delivered = Delivery.objects.exclude(pk=refused.pk)
    assert set(delivered.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.email for s in subscribers[1:])
    settings.EMAIL_CLAIM_TIMEOUT = -1
    assert notifications.resumable_posts() == []  # nothing left to retry
    assert notifications.send_deliveries(post.pk, batch) == 0
    assert Delivery.objects.get(pk=refused.pk).attempts == 3


def test_dropped_connection_costs_a_delivery_no_attempt(subscribers, picky_smtp, settings):
    settings.EMAIL_MAX_ATTEMPTS = 1
    picky_smtp.hangs_up = {subscribers[0].email}
    post = PostFactory()
    [batch] = notifications.queue_deliveries(post.pk)
    for _ in range(3):
        with pytest.raises(notifications.TransientMailError):
            notifications.send_deliveries(post.pk, batch)
    delivery = Delivery.objects.get(subscriber=subscribers[0])
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)  # an outage fails no one
    assert "closed" in delivery.error
    picky_smtp.hangs_up = set()
    assert notifications.send_deliveries(post.pk, batch) == len(subscribers)


def test_stale_claim_fails_once_out_of_attempts(subscribers, settings):
    settings.EMAIL_MAX_ATTEMPTS = 2
    post = PostFactory()
    [batch] = notifications.queue_deliveries(post.pk)
    exhausted, retried, *_ = batch
    Delivery.objects.filter(pk=exhausted).update(attempts=1, error="451 try again later")
    # Claimed, then the worker died, twice over.
    assert deliveries.delivery_claim(delivery_id=exhausted) and deliveries.delivery_claim(delivery_id=retried)
    settings.EMAIL_CLAIM_TIMEOUT = -1
    assert deliveries.delivery_release_stale_claims() == 2
    gave_up, again = Delivery.objects.get(pk=exhausted), Delivery.objects.get(pk=retried)
    assert (gave_up.status, gave_up.attempts, gave_up.error) == (DeliveryStatus.FAILED, 2, "451 try again later")
    assert (again.status, again.attempts) == (DeliveryStatus.PENDING, 1)
    assert notifications.send_deliveries(post.pk, batch) == len(subscribers) - 1


def test_stale_claim_without_an_error_says_why_it_failed(subscribers, settings):
    settings.EMAIL_MAX_ATTEMPTS = 1
    post = PostFactory()
    [batch] = notifications.queue_deliveries(post.pk)
    assert deliveries.delivery_claim(delivery_id=batch[0])
    settings.EMAIL_CLAIM_TIMEOUT = -1
    deliveries.delivery_release_stale_claims()
    delivery = Delivery.objects.get(pk=batch[0])
    assert delivery.status == DeliveryStatus.FAILED and "stopped" in delivery.error
