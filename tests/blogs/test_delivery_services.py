"""The mail jobs' writes (blogs/deliveries.py): deliveries made once, claimed, given back, and confirmations' asks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from blogs.models import Delivery, DeliveryStatus, PostStatus, Subscriber, SubscriberStatus
from blogs.services import deliveries
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def confirmed(count: int, prefix: str = "d") -> list[Subscriber]:
    return [
        Subscriber.objects.create(email=f"{prefix}{i}@example.org", status=SubscriberStatus.CONFIRMED)
        for i in range(count)
    ]


def test_post_deliveries_create_makes_one_per_confirmed_subscriber_once():
    readers = confirmed(3)
    Subscriber.objects.create(email="pending@example.org")
    post = PostFactory(notifications_queued_at=None)

    assert deliveries.post_deliveries_create(post_id=post.pk) is True
    post.refresh_from_db()
    assert post.notifications_queued_at is not None
    assert sorted(Delivery.objects.values_list("subscriber_id", flat=True)) == sorted(r.pk for r in readers)
    confirmed(1, prefix="late")  # subscribed after the post went out: not notified of it
    assert deliveries.post_deliveries_create(post_id=post.pk) is True
    assert Delivery.objects.count() == 3


def test_post_deliveries_create_refuses_a_post_that_is_not_public():
    confirmed(2)
    scheduled = PostFactory(notifications_queued_at=None, published_at=timezone.now() + timedelta(days=1))
    draft = PostFactory(notifications_queued_at=None, status=PostStatus.DRAFT)

    assert deliveries.post_deliveries_create(post_id=scheduled.pk) is False
    assert deliveries.post_deliveries_create(post_id=draft.pk) is False
    assert deliveries.post_deliveries_create(post_id=0) is False
    assert not Delivery.objects.exists()


def test_delivery_claim_takes_a_pending_delivery_once_and_counts_the_attempt():
    [reader] = confirmed(1)
    delivery = Delivery.objects.create(post=PostFactory(), subscriber=reader)

    assert deliveries.delivery_claim(delivery_id=delivery.pk) is True
    assert deliveries.delivery_claim(delivery_id=delivery.pk) is False  # another batch has it
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENDING, 1) and delivery.claimed_at


def test_delivery_release_only_a_refused_message_costs_an_attempt(settings):
    settings.EMAIL_MAX_ATTEMPTS = 1
    slow, refused = (Delivery.objects.create(post=PostFactory(), subscriber=s) for s in confirmed(2))
    for delivery in (slow, refused):
        deliveries.delivery_claim(delivery_id=delivery.pk)

    deliveries.delivery_release(delivery_id=slow.pk, error="timed out", costs_attempt=False)
    deliveries.delivery_release(delivery_id=refused.pk, error="554 " + "x" * 600, costs_attempt=True)

    slow.refresh_from_db()
    refused.refresh_from_db()
    assert (slow.status, slow.attempts, slow.error) == (DeliveryStatus.PENDING, 0, "timed out")
    assert (refused.status, refused.attempts, len(refused.error)) == (DeliveryStatus.FAILED, 1, 500)


def test_subscriber_confirmation_claim_and_release_answer_each_ask_once():
    subscriber = Subscriber.objects.create(email="ask@example.org", confirmation_asks=2, confirmation_sent_for=1)

    assert deliveries.subscriber_confirmation_claim(subscriber_id=subscriber.pk, ask=2, answered=1) is True
    assert deliveries.subscriber_confirmation_claim(subscriber_id=subscriber.pk, ask=2, answered=1) is False
    deliveries.subscriber_confirmation_release(subscriber_id=subscriber.pk, ask=2, answered=1)
    subscriber.refresh_from_db()
    assert subscriber.confirmation_sent_for == 1  # given back: the retry or the sweep may claim it again
    deliveries.subscriber_confirmations_resent(subscriber_ids=[subscriber.pk])
    subscriber.refresh_from_db()
    assert subscriber.confirmation_resends == 1
