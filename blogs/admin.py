from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from biomuseum.admin_previews import PreviewMixin
from biomuseum.admin_revisions import RevisionsAdmin
from biomuseum.admin_widgets import ProcessedImageAdminMixin, after_image_formset_saved, image_preview
from biomuseum.frontendlinks import ViewOnFrontendMixin

from . import services
from .models import AuthorProfile, CoverImage, DeliveryStatus, Post, PostStatus, Subscriber, Tag, byline


class CoverImageInline(ProcessedImageAdminMixin, admin.StackedInline):
    model = CoverImage
    preview_size = 240
    extra = 0
    max_num = 1
    fields = ("preview", "original", "alt_text", "credit", "processing")
    readonly_fields = ("preview", "processing")


@admin.register(AuthorProfile)
class AuthorProfileAdmin(admin.ModelAdmin):
    """The name on a curator's posts. Each curator sets their own; a superuser may set anyone's."""

    list_display = ("display_name", "user")
    search_fields = ("display_name",)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user")
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def get_fields(self, request, obj=None):
        return ("user", "display_name") if request.user.is_superuser else ("display_name",)

    def has_add_permission(self, request):
        # One profile an account: a curator adds theirs once, then changes it.
        if not super().has_add_permission(request):
            return False
        return request.user.is_superuser or not AuthorProfile.objects.filter(user=request.user).exists()

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.user = request.user
        super().save_model(request, obj, form, change)


@admin.register(Tag)
class TagAdmin(RevisionsAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


class PostAdminForm(forms.ModelForm):
    class Meta:
        model = Post
        fields = ("title", "slug", "excerpt", "body", "status", "published_at", "tags", "related_organisms")

    def clean(self):
        cleaned_data = super().clean()
        # The form checks the model's constraints before save_model runs, so the service's rule applies here too:
        # "published, no time" would violate post_published_has_time.
        if "status" in cleaned_data:
            cleaned_data["published_at"] = services.publication_time(
                status=cleaned_data["status"], published_at=cleaned_data.get("published_at")
            )
        return cleaned_data


@admin.register(Post)
class PostAdmin(PreviewMixin, ViewOnFrontendMixin, RevisionsAdmin):
    preview_type = "post"
    form = PostAdminForm
    frontend_path_setting = "FRONTEND_POST_PATH"
    list_display = ("thumbnail", "title", "visibility", "published_at", "author", "updated_at")
    list_display_links = ("thumbnail", "title")
    list_filter = ("status", ("published_at", admin.DateFieldListFilter), "tags", "cover__status")
    search_fields = ("title", "excerpt", "=slug")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("related_organisms", "tags")
    readonly_fields = ("author", "shown_as", "rendered", "notifications", "created_at", "updated_at")
    date_hierarchy = "published_at"
    show_full_result_count = False
    inlines = [CoverImageInline]
    actions = ["publish", "unpublish", "reprocess_cover"]
    fieldsets = (
        (None, {"fields": ("title", "slug", "excerpt", "body")}),
        ("Publication", {"fields": ("status", "published_at", "author", "shown_as", "notifications")}),
        ("Links", {"fields": ("tags", "related_organisms")}),
        ("Rendered", {"fields": ("rendered",), "classes": ("collapse",)}),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author", "cover")

    def is_on_frontend(self, post):
        return post.is_public  # a scheduled post has no page until its time

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {name: data[name] for name in (*services.EDITABLE_FIELDS, "slug")}
        links = {"tags": data["tags"], "related_organisms": data["related_organisms"]}
        if change:
            services.post_update(post=obj, user=request.user, **fields, **links)
        else:
            # The admin goes on with `obj` (the cover inline, log, redirect): it becomes the row the service wrote.
            obj.pk = services.post_create(author=request.user, **fields, **links).pk
            obj.refresh_from_db()
            obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # The service has set the tags and related organisms; only the cover inline is left to save.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is CoverImage:
            after_image_formset_saved(formset, services.cover_image_saved)

    @admin.display(description="")
    def thumbnail(self, post):
        return image_preview(getattr(post, "cover", None), size=48)  # no cover: the reverse accessor raises

    @admin.display(description="Shown as")
    def shown_as(self, post):
        if post.author is None:
            return "—"
        return f"{byline(post.author)} (set the name in Author profiles)"

    @admin.display(description="Email to subscribers")
    def notifications(self, post):
        """Delivery progress: the rows are the truth."""
        if post.pk is None or post.notifications_queued_at is None:
            return "not sent (sent when the post is public)"
        counts = dict(post.deliveries.values_list("status").annotate(total=Count("pk")).order_by())
        parts = [f"{counts.get(state, 0)} {state}" for state in DeliveryStatus.values]
        return f"{', '.join(parts)} (queued {timezone.localtime(post.notifications_queued_at):%Y-%m-%d %H:%M})"

    @admin.display(description="Visibility")
    def visibility(self, post):
        if post.status == PostStatus.DRAFT:
            return "draft"
        return "scheduled" if post.published_at > timezone.now() else "public"

    @admin.display(description="Rendered HTML")
    def rendered(self, post):
        if not post.body_html:
            return "—"
        # body_html is render_markdown's sanitized output (Post.save), the same HTML the public is served.
        return format_html('<div style="max-width:60em">{}</div>', mark_safe(post.body_html))

    # Not "now": a post that was public before and went back to draft (a correction) keeps the date it was
    # first published, so it does not jump to the top of the blog as if it were new. Drafts and scheduled posts
    # are published from now.
    @admin.action(description="Publish selected posts (a post published before keeps its date)", permissions=["change"])
    def publish(self, request, queryset):
        changed = services.post_publish(posts=queryset, user=request.user)
        self.message_user(
            request,
            f"Published {changed} post(s). Drafts and scheduled posts are dated now; a post published before "
            "keeps its first date.",
            messages.SUCCESS,
        )

    @admin.action(description="Unpublish selected posts (back to draft)", permissions=["change"])
    def unpublish(self, request, queryset):
        changed = services.post_unpublish(posts=queryset, user=request.user)
        self.message_user(request, f"Unpublished {changed} post(s).", messages.SUCCESS)

    @admin.action(description="Process the selected posts' covers again", permissions=["change"])
    def reprocess_cover(self, request, queryset):
        covers = list(CoverImage.objects.filter(post__in=queryset))
        for cover in covers:
            services.cover_image_reprocess(image=cover, user=request.user)
        self.message_user(request, f"Queued {len(covers)} cover(s) for processing.", messages.SUCCESS)


def masked_email(email: str) -> str:
    """`a•••@example.org`: enough to tell addresses apart on screen, not a mailing list to copy."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    """Where each address stands, read-only: an address enters by double opt-in and leaves by its own link, so
    nobody adds or edits one here (deleting one, for an erasure request, takes the delete permission). The list
    masks addresses and there is no export; an exact address typed in the search finds its record."""

    list_display = ("masked_address", "status", "created_at", "confirmation_sent_at", "confirmed_at",
                    "unsubscribed_at")  # fmt: skip
    list_filter = ("status",)
    search_fields = ("=email",)
    search_help_text = "Search by an exact address."
    fields = ("email", "status", "created_at", "confirmation_requested_at", "confirmation_sent_at", "confirmed_at",
              "unsubscribed_at")  # fmt: skip
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="Address", ordering="email")
    def masked_address(self, subscriber):
        return masked_email(subscriber.email)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
