from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from biomuseum import revisions
from biomuseum.images import ProcessedImage
from biomuseum.publicstate import PublicState

from .markup import MAX_SOURCE_LENGTH, render_markdown


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    history = revisions.history_records()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuthorProfile(models.Model):
    """How an account signs its posts. The login name is a credential's half, never a byline."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="author_profile")
    display_name = models.CharField(max_length=120, help_text="The name visitors see on your posts.")

    def __str__(self) -> str:
        return self.display_name


def byline(user) -> str:
    """The author's public name: the display name set in their profile, else the account's full name, else the
    museum's staff (never the login name)."""
    profile = getattr(user, "author_profile", None)  # None when there is no profile
    name = (profile.display_name if profile else "").strip() or user.get_full_name().strip()
    return name or f"{settings.MUSEUM_NAME} staff"


class PostStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


BODY_HELP = (
    "Markdown. # or ## starts a section and ### to ###### a subsection (the title is the page's heading); "
    "*emphasis*, **strong**, `code`, lists (- or 1.), > quotes, tables, [links](https://…) and images from the "
    "museum's own site. Link a species by its scientific name, [[Panthera uncia]] or [[Panthera uncia|snow "
    "leopard]], or by slug, [snow leopard](organism:panthera-uncia); one the catalogue does not have shows as "
    "text marked ?. Scripts, styles, other HTML attributes and images from other sites are removed. At most "
    f"{MAX_SOURCE_LENGTH:,} characters."
)


class PostQuerySet(models.QuerySet):
    def published(self, now=None) -> "PostQuerySet":
        """Visible to the public: published, and its time has come (a future time means scheduled)."""
        return self.filter(status=PostStatus.PUBLISHED, published_at__lte=now or timezone.now())


class Post(PublicState):
    slug = models.SlugField(max_length=160, unique=True)
    title = models.CharField(max_length=200)
    excerpt = models.CharField(max_length=300, blank=True)
    # One cap for every path: max_length gives the admin form and the API serializer their limit, the validator
    # gives it to full_clean (the services); rendering time grows with the body.
    body = models.TextField(
        help_text=BODY_HELP, max_length=MAX_SOURCE_LENGTH, validators=[MaxLengthValidator(MAX_SOURCE_LENGTH)]
    )
    body_html = models.TextField(blank=True, editable=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="posts")
    status = models.CharField(max_length=10, choices=PostStatus.choices, default=PostStatus.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True, help_text="A future time schedules the post.")
    tags = models.ManyToManyField(Tag, blank=True, related_name="posts")
    related_organisms = models.ManyToManyField("organisms.Organism", blank=True, related_name="posts")
    # Set once subscribers' deliveries exist: notifying is then a matter of sending what is pending.
    notifications_queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PostQuerySet.as_manager()
    history = revisions.history_records(m2m_fields=["tags", "related_organisms"])

    PUBLIC_CONDITION = Q(status=PostStatus.PUBLISHED)
    PRIVATE_FIELDS = frozenset({"notifications_queued_at"})

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["status", "-published_at", "-id"], name="post_status_published")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=PostStatus.DRAFT) | Q(published_at__isnull=False),
                name="post_published_has_time",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        # The HTML is derived data: rendering it here keeps every path (admin, API, import) in step.
        self.body_html = render_markdown(self.body)
        if kwargs.get("update_fields") is not None and "body" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "body_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("post-detail", kwargs={"slug": self.slug})

    def shows_publicly(self) -> bool:
        return self.status == PostStatus.PUBLISHED  # scheduled ones too: their time shapes cached pages

    @property
    def is_public(self) -> bool:
        return (
            self.status == PostStatus.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )


class CoverImage(ProcessedImage):
    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="cover")
    credit = models.CharField(max_length=200, blank=True)

    history = revisions.history_records()

    def __str__(self) -> str:
        return self.alt_text or f"Cover of {self.post}"


class SubscriberStatus(models.TextChoices):
    PENDING = "pending", "Pending confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


class Subscriber(models.Model):
    """A newsletter address, double opt-in: nothing is sent to it but the confirmation until confirmed."""

    email = models.EmailField(max_length=254, unique=True)  # stored lower-cased
    status = models.CharField(max_length=12, choices=SubscriberStatus.choices, default=SubscriberStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    # Each ask to subscribe is numbered and earns one confirmation; cleanup and the sweep count from the latest.
    confirmation_asks = models.PositiveIntegerField(default=0, editable=False)
    confirmation_requested_at = models.DateTimeField(null=True, blank=True)
    # The latest ask whose confirmation went out (or is going: a failed send gives it back), and when.
    confirmation_sent_for = models.PositiveIntegerField(default=0, editable=False)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    # How many times the sweep queued the latest ask's confirmation again.
    confirmation_resends = models.PositiveSmallIntegerField(default=0, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "id"], name="subscriber_status")]

    def __str__(self) -> str:
        return self.email


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One notification of one post to one subscriber: the row that makes sending exactly-once."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "subscriber"], name="delivery_once_per_post")]
        indexes = [models.Index(fields=["post", "status", "id"], name="delivery_progress")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.post} → {self.subscriber}"
