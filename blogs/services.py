"""Every write to the blog goes through here."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, QuerySet, TextField, Value, When
from django.utils import timezone

from biomuseum import images
from organisms.models import Organism
from organisms.services import unique_slug

from .models import CoverImage, Delivery, DeliveryStatus, Post, PostStatus, Subscriber, SubscriberStatus, Tag

EDITABLE_FIELDS = ("title", "excerpt", "body", "status", "published_at")


def tags_from_names(names: Iterable[str]) -> list[Tag]:
    """The tags with these names, created when new."""
    tags = []
    for name in names:
        name = " ".join(name.split())
        if name:
            tag = Tag.objects.filter(name__iexact=name).first()
            tags.append(tag or Tag.objects.create(name=name, slug=unique_slug(Tag, name, max_length=60)))
    return tags


# The author is the server's to set and may be gone (SET_NULL): it is not something to validate.
SERVER_OWNED = ("author",)


def _apply_publication(post: Post) -> None:
    if post.status == PostStatus.PUBLISHED and post.published_at is None:
        post.published_at = timezone.now()


@transaction.atomic
def post_create(
    *,
    author: AbstractBaseUser | None,
    title: str,
    body: str,
    slug: str = "",
    tags: Iterable[str] = (),
    related_organisms: Iterable[Organism] = (),
    **fields,
) -> Post:
    """A new post, a draft unless a status says otherwise; the author is whoever writes it."""
    post = Post(title=title, body=body, author=author, **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
    post.slug = slug or unique_slug(Post, title, max_length=160)
    _apply_publication(post)
    post.full_clean(exclude=SERVER_OWNED)
    post.save()
    post.tags.set(tags_from_names(tags))
    post.related_organisms.set(list(related_organisms))
    post_schedule_notifications(post=post)
    return post


@transaction.atomic
def post_update(
    *,
    post: Post,
    user: AbstractBaseUser | None,
    tags: Iterable[str] | None = None,
    related_organisms: Iterable[Organism] | None = None,
    **fields,
) -> Post:
    """Change what the caller names. A post deleted meanwhile stays deleted (DoesNotExist: a 404)."""
    if not Post.objects.select_for_update().filter(pk=post.pk).exists():
        raise Post.DoesNotExist("This post no longer exists.")
    for name, value in fields.items():
        if name in EDITABLE_FIELDS or name == "slug":
            setattr(post, name, value)
    _apply_publication(post)
    post.full_clean(exclude=SERVER_OWNED)
    post.save(force_update=True)
    if tags is not None:
        post.tags.set(tags_from_names(tags))
    if related_organisms is not None:
        post.related_organisms.set(list(related_organisms))
    post_schedule_notifications(post=post)
    return post


@transaction.atomic
def post_delete(*, post: Post, user: AbstractBaseUser | None) -> None:
    post.delete()


@transaction.atomic
def post_publish(*, posts: QuerySet, user: AbstractBaseUser | None, at: datetime | None = None) -> int:
    """Publish now, or schedule for `at`. A post published in the past keeps its date when published again."""
    now = timezone.now()
    changed = 0
    # Lock the posts only: callers (the admin) join the nullable author, which PostgreSQL cannot lock.
    for post in posts.select_for_update(of=("self",)):
        if at is None and post.is_public:
            continue
        if at is not None:
            post.published_at = at
        elif post.published_at is None or post.published_at > now:
            post.published_at = now
        post.status = PostStatus.PUBLISHED
        post.save(update_fields=["status", "published_at", "updated_at"])
        post_schedule_notifications(post=post)
        changed += 1
    return changed


@transaction.atomic
def post_unpublish(*, posts: QuerySet, user: AbstractBaseUser | None) -> int:
    """Back to draft; the public no longer sees it."""
    changed = 0
    for post in posts.select_for_update(of=("self",)).filter(status=PostStatus.PUBLISHED):
        post.status = PostStatus.DRAFT
        post.save(update_fields=["status", "updated_at"])
        changed += 1
    return changed


# --- subscriptions ---


@transaction.atomic
def subscriber_subscribe(*, email: str) -> None:
    """Double opt-in. The caller learns nothing about whether the address was known (no enumeration)."""
    from .tasks import send_confirmation

    email = email.strip().lower()
    subscriber, _ = Subscriber.objects.select_for_update().get_or_create(email=email)
    if subscriber.status == SubscriberStatus.CONFIRMED:
        # The same work as the other path (one write, one job that sends nothing to a confirmed address), so
        # the answer's timing does not tell a confirmed address from another.
        Subscriber.objects.filter(pk=subscriber.pk).update(status=F("status"))
        send_confirmation.delay_on_commit(subscriber.pk, subscriber.confirmation_asks)
        return
    # Each ask earns a confirmation (someone asking again has probably lost the first); numbering the asks
    # lets the send claim its own, so the sweep re-queueing one whose queueing failed never sends it twice.
    subscriber.status, subscriber.unsubscribed_at = SubscriberStatus.PENDING, None
    subscriber.confirmation_asks += 1
    subscriber.confirmation_requested_at, subscriber.confirmation_resends = timezone.now(), 0
    subscriber.save(
        update_fields=[
            "status",
            "unsubscribed_at",
            "confirmation_asks",
            "confirmation_requested_at",
            "confirmation_resends",
        ]
    )
    send_confirmation.delay_on_commit(subscriber.pk, subscriber.confirmation_asks)


@transaction.atomic
def subscriber_confirm(*, subscriber: Subscriber) -> Subscriber:
    """Confirm a pending subscription. An unsubscribed address stays unsubscribed: its old confirmation link
    must not undo the unsubscribe (subscribing again makes it pending, with a new link)."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.status == SubscriberStatus.PENDING:
        subscriber.status, subscriber.confirmed_at = SubscriberStatus.CONFIRMED, timezone.now()
        subscriber.save(update_fields=["status", "confirmed_at"])
    return subscriber


@transaction.atomic
def subscriber_unsubscribe(*, subscriber: Subscriber) -> Subscriber:
    if subscriber.status != SubscriberStatus.UNSUBSCRIBED:
        subscriber.status, subscriber.unsubscribed_at = SubscriberStatus.UNSUBSCRIBED, timezone.now()
        subscriber.save(update_fields=["status", "unsubscribed_at"])
    return subscriber


def post_schedule_notifications(*, post: Post) -> None:
    """A post that is public now is announced to subscribers (once: the deliveries make it so).
    Scheduled posts are picked up by the `blogs.notify_due_posts` beat task when their time comes."""
    from .tasks import notify_subscribers

    if post.is_public and post.notifications_queued_at is None:
        notify_subscribers.delay_on_commit(post.pk)


# --- cover images ---


@transaction.atomic
def cover_image_reprocess(*, image: CoverImage, user: AbstractBaseUser | None) -> CoverImage:
    """Start the cover's processing over (after a failure, or when the pipeline changed)."""
    from .tasks import process_cover_image

    images.restart(image)
    process_cover_image.delay_on_commit(image.pk)
    return image


def cover_image_saved(*, image: CoverImage, created: bool, original_changed: bool) -> None:
    """The admin saved a cover: a new or replaced original is processed (again)."""
    if created or original_changed:
        cover_image_reprocess(image=image, user=None)


# --- the mail jobs' writes (blogs/notifications.py decides what to send; these record it) ---


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
