"""The mail jobs' writes: blogs/notifications.py decides what to send, these record it.

Apart from the rest of the services because the mail jobs call them: nothing here queues a task.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, TextField, Value, When
from django.utils import timezone

from ..models import Delivery, DeliveryStatus, Post, Subscriber, SubscriberStatus


def subscriber_confirmation_claim(*, subscriber_id: int, ask: int, answered: int) -> bool:
    """Take ask `ask` for this send, unless another send took one since `answered` was read."""
    claimed = Subscriber.objects.filter(pk=subscriber_id, confirmation_sent_for=answered)
    return bool(claimed.update(confirmation_sent_for=ask))


def subscriber_confirmation_release(*, subscriber_id: int, ask: int, answered: int) -> None:
    """A send that failed gives its ask back, for the task's retry or the sweep."""
    Subscriber.objects.filter(pk=subscriber_id, confirmation_sent_for=ask).update(confirmation_sent_for=answered)


def subscriber_confirmation_sent(*, subscriber_id: int) -> None:
    Subscriber.objects.filter(pk=subscriber_id).update(confirmation_sent_at=timezone.now())


def subscriber_confirmations_resent(*, subscriber_ids: Iterable[int]) -> None:
    """Count a resend for each, so the sweep gives up on an ask after a few."""
    Subscriber.objects.filter(pk__in=list(subscriber_ids)).update(confirmation_resends=F("confirmation_resends") + 1)


@transaction.atomic
def post_deliveries_create(*, post_id: int) -> bool:
    """One delivery per confirmed subscriber, made once per post; False when the post is gone or not public."""
    post = Post.objects.select_for_update().filter(pk=post_id).first()
    if post is None or not post.is_public:
        return False
    if post.notifications_queued_at is None:
        subscribers = Subscriber.objects.filter(status=SubscriberStatus.CONFIRMED).values_list("pk", flat=True)
        Delivery.objects.bulk_create(
            (Delivery(post_id=post.pk, subscriber_id=pk) for pk in subscribers.iterator(chunk_size=2000)),
            batch_size=2000,
            ignore_conflicts=True,
        )
        post.notifications_queued_at = timezone.now()
        post.save(update_fields=["notifications_queued_at"])
    return True


def _pending_or_failed() -> Case:
    """A claimed delivery's next status: pending for another try, or failed once out of attempts."""
    return Case(
        When(attempts__gte=settings.EMAIL_MAX_ATTEMPTS, then=Value(DeliveryStatus.FAILED)),
        default=Value(DeliveryStatus.PENDING),
    )


def delivery_claim(*, delivery_id: int) -> bool:
    """Take a pending delivery for this batch (an attempt); False when it is sent already or another has it."""
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
    )


def delivery_release(*, delivery_id: int, error: str, costs_attempt: bool) -> None:
    """A send that failed: back to pending (or failed once out of attempts when this one counts)."""
    delivery = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING)
    if costs_attempt:
        delivery.update(status=_pending_or_failed(), error=error[:500])
    else:
        delivery.update(status=DeliveryStatus.PENDING, attempts=F("attempts") - 1, error=error[:500])


def delivery_fail(*, delivery_id: int, error: str) -> None:
    Delivery.objects.filter(pk=delivery_id).update(status=DeliveryStatus.FAILED, error=error[:500])


def delivery_sent(*, delivery_id: int) -> None:
    Delivery.objects.filter(pk=delivery_id).update(status=DeliveryStatus.SENT, sent_at=timezone.now())


def delivery_release_stale_claims() -> int:
    """Deliveries claimed by a batch that died mid-send go back to pending, or fail once out of attempts:
    a message that kills its worker every time must not be sent for ever."""
    stale = timezone.now() - timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT)
    died = "The batch sending it stopped before it finished."
    return Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=stale).update(
        status=_pending_or_failed(),
        # Keep the last error the server gave, if any: it says more than the crash.
        error=Case(When(error="", then=Value(died)), default=F("error"), output_field=TextField()),
    )
