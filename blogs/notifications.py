"""Email: subscription confirmations and new-post notifications.

Each notification is one Delivery row (post, subscriber), created once per post.
A batch claims each pending row before sending it and marks it sent right after,
so a re-run or a crash mid-batch sends nothing twice and skips no one; the one
message in flight at the moment of a crash is sent again later, with the same
Message-ID, so mail clients show it once. Each claim is an attempt (one cut
short by a failed connection is given back); after EMAIL_MAX_ATTEMPTS a
delivery is marked failed with its last error and left.

A confirmation is claimed too: each ask to subscribe is numbered, and a send
records the ask it answers before sending (giving it back if the send fails),
so however many tasks carry one ask (the first, its retries, the sweep's), it
gets one message.

This module reads, decides and sends; blogs/services/deliveries.py writes what it decided.
"""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Delivery, DeliveryStatus, Post, PostStatus, Subscriber, SubscriberStatus
from .services import deliveries

logger = logging.getLogger("blogs.notifications")

TOKEN_SALT = "blogs.subscriptions"


class TransientMailError(Exception):
    """The mail server could not take the message now; the task retries with backoff."""


# --- signed links ---


def make_token(subscriber: Subscriber, purpose: str) -> str:
    return signing.dumps({"id": subscriber.pk, "email": subscriber.email, "for": purpose}, salt=TOKEN_SALT)


def read_token(token: str, purpose: str, max_age: int | None = None) -> Subscriber | None:
    """The subscriber a link was made for, or None when it is forged, expired or for something else."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=max_age)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("for") != purpose:
        return None
    return Subscriber.objects.filter(pk=data.get("id"), email=data.get("email")).first()


def confirm_url(subscriber: Subscriber) -> str:
    return f"{settings.PUBLIC_BASE_URL}/api/v1/subscriptions/confirm/?token={make_token(subscriber, 'confirm')}"


def unsubscribe_url(subscriber: Subscriber) -> str:
    return f"{settings.PUBLIC_BASE_URL}/api/v1/subscriptions/unsubscribe/?token={make_token(subscriber, 'unsubscribe')}"


def post_url(post: Post) -> str:
    return settings.POST_URL_TEMPLATE.format(base=settings.PUBLIC_BASE_URL, slug=post.slug)


def _send(messages: list[EmailMultiAlternatives], connection=None) -> None:
    try:
        (connection or get_connection()).send_messages(messages)
    except smtplib.SMTPRecipientsRefused:
        raise
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        raise TransientMailError(str(error)) from error


# --- confirmations ---


# The sweep queues a lost confirmation again at most this many times per ask, waiting
# EMAIL_CLAIM_TIMEOUT, then twice that, and so on, and takes this many subscribers a run.
CONFIRMATION_RESENDS = 3
CONFIRMATION_SWEEP_BATCH = 200


def send_confirmation(subscriber_id: int, ask: int | None = None) -> bool:
    """Mail the confirmation of one ask (the latest when not given), once; True when this call sent it."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id, status=SubscriberStatus.PENDING).first()
    if subscriber is None:
        return False
    ask = ask or subscriber.confirmation_asks
    answered = subscriber.confirmation_sent_for
    if ask == answered:
        return False  # sent already, or being sent
    # An earlier ask overtaken by a later, answered one still earns its mail, without moving the record back.
    claimed = ask > answered
    if claimed and not deliveries.subscriber_confirmation_claim(
        subscriber_id=subscriber_id, ask=ask, answered=answered
    ):
        return False  # another send claimed meanwhile
    context = {"confirm_url": confirm_url(subscriber), "days": settings.SUBSCRIPTION_CONFIRM_MAX_AGE // 86400}
    message = EmailMultiAlternatives(
        subject="Confirm your subscription to the BioMuseum blog",
        body=render_to_string("blogs/email/confirm.txt", context),
        to=[subscriber.email],
    )
    message.attach_alternative(render_to_string("blogs/email/confirm.html", context), "text/html")
    try:
        _send([message])
    except Exception:
        if claimed:  # not sent: give the claim back, for the task's retry or the sweep
            deliveries.subscriber_confirmation_release(subscriber_id=subscriber_id, ask=ask, answered=answered)
        raise
    deliveries.subscriber_confirmation_sent(subscriber_id=subscriber_id)
    return True


def unsent_confirmations() -> list[tuple[int, int]]:
    """(subscriber, ask) for pending subscribers whose latest ask had no confirmation (its queueing failed,
    or every send did) while its link would still work; each counts as resent here, so the sweep gives up."""
    now = timezone.now()
    due = Q()
    for resends in range(CONFIRMATION_RESENDS):
        waited = now - timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT * 2**resends)
        due |= Q(confirmation_resends=resends, confirmation_requested_at__lt=waited)
    unsent = Subscriber.objects.filter(
        due,
        status=SubscriberStatus.PENDING,
        confirmation_sent_for__lt=F("confirmation_asks"),
        confirmation_requested_at__gte=now - timedelta(seconds=settings.SUBSCRIPTION_CONFIRM_MAX_AGE),
    ).order_by("confirmation_requested_at", "pk")
    found = list(unsent.values_list("pk", "confirmation_asks")[:CONFIRMATION_SWEEP_BATCH])
    deliveries.subscriber_confirmations_resent(subscriber_ids=[pk for pk, _ in found])
    return found


# --- notifications ---


def due_posts() -> list[int]:
    """Public posts not yet notified, published recently (an old post is never announced late)."""
    now = timezone.now()
    return list(
        Post.objects.filter(
            status=PostStatus.PUBLISHED,
            published_at__lte=now,
            published_at__gte=now - timedelta(seconds=settings.NOTIFY_WINDOW),
            notifications_queued_at__isnull=True,
        ).values_list("pk", flat=True)
    )


def resumable_posts() -> list[int]:
    """Posts whose queued deliveries have waited too long: their batches died or were lost."""
    deliveries.delivery_release_stale_claims()
    waited = timezone.now() - timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT)
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, post__notifications_queued_at__lt=waited)
        .values_list("post_id", flat=True)
        .distinct()
    )


def queue_deliveries(post_id: int) -> list[list[int]]:
    """Create one delivery per confirmed subscriber (once per post); return the pending ones in batches."""
    if not deliveries.post_deliveries_create(post_id=post_id):
        return []
    pending = Delivery.objects.filter(post_id=post_id, status=DeliveryStatus.PENDING).order_by("pk")
    ids = list(pending.values_list("pk", flat=True))
    size = settings.EMAIL_BATCH_SIZE
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _notification(delivery: Delivery, post: Post) -> EmailMultiAlternatives:
    subscriber = delivery.subscriber
    leave = unsubscribe_url(subscriber)
    context = {"post": post, "post_url": post_url(post), "unsubscribe_url": leave}
    domain = settings.PUBLIC_BASE_URL.split("://")[-1].split("/")[0].split(":")[0] or "biomuseum.local"
    message = EmailMultiAlternatives(
        subject=post.title,
        body=render_to_string("blogs/email/new_post.txt", context),
        to=[subscriber.email],
        headers={
            "List-Unsubscribe": f"<{leave}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": f"<delivery-{delivery.pk}@{domain}>",
        },
    )
    message.attach_alternative(render_to_string("blogs/email/new_post.html", context), "text/html")
    return message


def _give_back(delivery_id: int, error: TransientMailError) -> None:
    """A failed send. Only the server refusing this message costs it an attempt; a dropped or slow
    connection, or a refused sender (throttling), is about the server, and an SMTP outage fails no one."""
    refused = isinstance(error.__cause__, smtplib.SMTPDataError)
    deliveries.delivery_release(delivery_id=delivery_id, error=str(error), costs_attempt=refused)


def send_deliveries(post_id: int, delivery_ids: list[int]) -> int:
    """Send what is still pending of these deliveries over one SMTP connection; return how many went."""
    post = Post.objects.filter(pk=post_id).first()
    if post is None or not post.is_public:
        return 0
    sent = 0
    connection = get_connection()
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        raise TransientMailError(str(error)) from error
    try:
        for delivery_id in delivery_ids:
            if not deliveries.delivery_claim(delivery_id=delivery_id):
                continue  # sent already, or another batch has it
            delivery = Delivery.objects.select_related("subscriber").get(pk=delivery_id)
            if delivery.subscriber.status != SubscriberStatus.CONFIRMED:
                deliveries.delivery_fail(delivery_id=delivery_id, error="Unsubscribed.")
                continue
            try:
                _send([_notification(delivery, post)], connection)
            except smtplib.SMTPRecipientsRefused as error:
                deliveries.delivery_fail(delivery_id=delivery_id, error=str(error))
                continue
            except TransientMailError as error:
                _give_back(delivery_id, error)
                raise
            deliveries.delivery_sent(delivery_id=delivery_id)
            sent += 1
    finally:
        connection.close()
    return sent
