import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db.models import Q

from biomuseum.passwordchange import password_change_require

CURATOR_MODELS = (
    "organism", "organismimage", "taxon", "vernacularname", "checklistimport", "post", "tag", "coverimage",
    "authorprofile",
)  # fmt: skip
# Seen, never changed: curators answer "did my subscription go through?", consent stays the subscriber's.
CURATOR_VIEW_ONLY = ("view_subscriber",)
# The cache panel (ops/admin.py): seeing it, "Warm now" and "Purge".
CURATOR_CACHE_PANEL = ("view_cachewarmup", "add_cachewarmup", "purge_page_cache")


class Command(BaseCommand):
    help = "Create the Curators group and, on first run, a curator account with a one-time password."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="curator")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, username: str, base_url: str, **options):
        group, _ = Group.objects.get_or_create(name="Curators")
        group.permissions.set(
            Permission.objects.filter(
                Q(content_type__app_label__in=("organisms", "blogs"), content_type__model__in=CURATOR_MODELS)
                | Q(content_type__app_label="blogs", codename__in=CURATOR_VIEW_ONLY)
                | Q(content_type__app_label="ops", codename__in=CURATOR_CACHE_PANEL)
            )
        )
        user_model = get_user_model()
        admin_url = f"{base_url.rstrip('/')}/{settings.ADMIN_URL}"
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"Curator account '{username}' exists. Admin: {admin_url}")
            return
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_user(username=username, password=password, is_staff=True)
        user.groups.add(group)
        password_change_require(user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created curator account '{username}' with one-time password: {password}\n"
                f"Sign in at {admin_url}: the admin asks for a new password first (this one is not shown again)."
            )
        )
