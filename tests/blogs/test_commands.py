import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from blogs.models import Post, PostStatus, Tag
from organisms.models import ConservationStatus, Organism

from ..factories import OrganismFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD_LINE = re.compile(r"one-time password: (\S+)")


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "organisms": sorted(Organism.objects.values_list("scientific_name", "slug", "common_name")),
        "posts": sorted(Post.objects.values_list("slug", "status", "published_at")),
        "tags": sorted(Tag.objects.values_list("name", "slug")),
        "post_tags": Post.tags.through.objects.count(),
        "post_organisms": Post.related_organisms.through.objects.count(),
        "users": get_user_model().objects.count(),
    }


# --- seed_demo ---


def test_seed_demo_loads_a_varied_catalogue():
    run("seed_demo")

    assert Organism.objects.count() >= 60
    assert Organism.objects.values("kingdom").distinct().count() >= 3
    statuses = set(Organism.objects.values_list("conservation_status", flat=True))
    assert len(statuses) >= 5
    assert statuses <= set(ConservationStatus.values)
    assert Organism.objects.filter(is_published=False).count() == 0
    assert not Organism.objects.filter(slug="").exists()


def test_seed_demo_loads_public_draft_and_scheduled_posts():
    run("seed_demo")

    now = timezone.now()
    posts = Post.objects.all()
    drafts = posts.filter(status=PostStatus.DRAFT)
    scheduled = posts.filter(status=PostStatus.PUBLISHED, published_at__gt=now)
    public = Post.objects.published(now)
    assert posts.count() >= 12
    assert drafts.count() >= 1
    assert scheduled.count() >= 1
    assert public.count() == posts.count() - drafts.count() - scheduled.count()
    assert public.count() >= 10


def test_seed_demo_posts_are_rendered_tagged_linked_and_authored():
    run("seed_demo")

    assert not Post.objects.filter(body_html="").exists()
    assert not Post.objects.annotate(n=Count("tags")).filter(n=0).exists()
    assert Post.objects.annotate(n=Count("related_organisms")).filter(n__gt=0).count() >= 10
    assert not Post.objects.filter(author__isnull=True).exists()
    assert Post.objects.values("author").distinct().count() == 1
    # The editorial account writes posts; it does not sign in.
    assert not Post.objects.first().author.is_active


def test_seed_demo_twice_changes_nothing():
    first_output = run("seed_demo")
    before = snapshot()

    second_output = run("seed_demo")

    assert snapshot() == before
    assert "0 organisms and 0 posts created" in second_output
    assert "0 organisms and 0 posts created" not in first_output


def test_seed_demo_keeps_existing_records_and_their_edits():
    run("seed_demo")
    fox = Organism.objects.order_by("pk").first()
    fox.common_name = "Edited by a curator"
    fox.save()

    run("seed_demo")

    fox.refresh_from_db()
    assert fox.common_name == "Edited by a curator"


def test_seed_demo_synthetic_records():
    output = run("seed_demo", "--organisms", "500", "--posts", "50")

    synthetic = Organism.objects.filter(slug__startswith="synthetic-")
    assert synthetic.count() == 500
    assert synthetic.values("scientific_name").distinct().count() == 500
    assert synthetic.values("kingdom").distinct().count() >= 3
    synthetic_posts = Post.objects.filter(slug__startswith="synthetic-post-")
    assert synthetic_posts.count() == 50
    assert synthetic_posts.filter(body_html="").count() == 0
    assert Post.objects.published().filter(slug__startswith="synthetic-post-").count() == 50
    assert "Synthetic organisms: 500 created" in output
    assert "Synthetic posts: 50 created" in output


def test_seed_demo_synthetic_records_rerun_creates_no_duplicates():
    run("seed_demo", "--organisms", "500", "--posts", "50")
    before = snapshot()

    output = run("seed_demo", "--organisms", "500", "--posts", "50")

    assert snapshot() == before
    assert "Synthetic organisms: 0 created" in output
    assert "Synthetic posts: 0 created" in output


def test_seed_demo_synthetic_records_grow_to_a_larger_target():
    run("seed_demo", "--organisms", "100", "--posts", "10")

    run("seed_demo", "--organisms", "250", "--posts", "30")

    synthetic = Organism.objects.filter(slug__startswith="synthetic-")
    assert synthetic.count() == 250
    assert synthetic.values("scientific_name").distinct().count() == 250
    assert Post.objects.filter(slug__startswith="synthetic-post-").count() == 30


def test_seed_demo_replace_synthetic_builds_the_synthetic_records_anew():
    run("seed_demo", "--organisms", "100", "--posts", "10")
    Organism.objects.filter(slug__startswith="synthetic-").update(common_name="Generated by an earlier version")

    output = run("seed_demo", "--replace-synthetic", "--organisms", "100")

    synthetic = Organism.objects.filter(slug__startswith="synthetic-")
    assert "Synthetic organisms: 100 removed" in output and "Synthetic organisms: 100 created" in output
    assert synthetic.count() == 100 and not synthetic.filter(common_name__startswith="Generated").exists()
    assert Organism.objects.exclude(slug__startswith="synthetic-").count() >= 60  # the demo species stay
    assert Post.objects.filter(slug__startswith="synthetic-post-").count() == 10


def test_seed_demo_if_empty_loads_an_empty_database():
    output = run("seed_demo", "--if-empty")

    assert Organism.objects.count() >= 60
    assert Post.objects.count() >= 12
    assert "0 organisms" not in output


def test_seed_demo_if_empty_does_not_bring_back_what_a_curator_deleted():
    run("seed_demo")
    Organism.objects.filter(pk__in=Organism.objects.order_by("pk").values("pk")[:5]).delete()
    Post.objects.filter(pk=Post.objects.order_by("pk").first().pk).delete()
    before = snapshot()

    output = run("seed_demo", "--if-empty", "--organisms", "10", "--posts", "5")

    assert snapshot() == before
    assert "nothing loaded" in output
    assert not Organism.objects.filter(slug__startswith="synthetic-").exists()


@pytest.mark.parametrize("existing", [OrganismFactory, PostFactory], ids=["one-organism", "one-post"])
def test_seed_demo_if_empty_leaves_a_database_with_one_record_alone(existing):
    existing()
    before = snapshot()

    output = run("seed_demo", "--if-empty")

    assert snapshot() == before
    assert "nothing loaded" in output


def test_seed_demo_without_if_empty_fills_in_what_was_deleted():
    run("seed_demo")
    total = Organism.objects.count()
    Organism.objects.order_by("pk").first().delete()

    run("seed_demo")

    assert Organism.objects.count() == total


# --- ensure_curator ---


def test_ensure_curator_creates_a_staff_curator_with_a_one_time_password():
    output = run("ensure_curator")

    password = PASSWORD_LINE.search(output).group(1)
    user = get_user_model().objects.get(username="curator")
    assert user.is_staff
    assert not user.is_superuser
    assert user.check_password(password)
    assert list(user.groups.values_list("name", flat=True)) == ["Curators"]


def test_ensure_curator_grants_organism_and_blog_permissions():
    run("ensure_curator")

    user = get_user_model().objects.get(username="curator")
    for permission in (
        "organisms.view_organism",
        "organisms.add_organism",
        "organisms.change_organism",
        "organisms.delete_organism",
        "organisms.change_organismimage",
        "organisms.change_taxon",
        "organisms.add_vernacularname",
        "blogs.add_post",
        "blogs.change_post",
        "blogs.delete_post",
        "blogs.change_tag",
        "blogs.change_coverimage",
        "ops.view_cachewarmup",  # the cache panel, its "Warm now" and "Purge"
        "ops.add_cachewarmup",
        "ops.purge_page_cache",
    ):
        assert user.has_perm(permission), permission
    assert not user.has_perm("auth.change_user")
    assert not user.has_perm("authtoken.add_token")


def test_ensure_curator_lets_curators_see_subscribers_and_nothing_more():
    run("ensure_curator")

    user = get_user_model().objects.get(username="curator")
    assert user.has_perm("blogs.view_subscriber")
    for action in ("add", "change", "delete"):
        assert not user.has_perm(f"blogs.{action}_subscriber")


def test_ensure_curator_curator_can_sign_in_to_the_admin(client):
    output = run("ensure_curator")
    password = PASSWORD_LINE.search(output).group(1)
    assert "asks for a new password first" in output

    assert client.login(username="curator", password=password)
    changelist = reverse("admin:organisms_organism_changelist")
    assert client.get(changelist)["Location"] == reverse("admin:password_change")  # the one-time password first
    new = "a passphrase of the curator's own"
    client.post(
        reverse("admin:password_change"), {"old_password": password, "new_password1": new, "new_password2": new}
    )
    assert client.get(changelist).status_code == 200


def test_ensure_curator_second_run_keeps_the_password():
    password = PASSWORD_LINE.search(run("ensure_curator")).group(1)

    output = run("ensure_curator")

    assert "exists" in output
    assert not PASSWORD_LINE.search(output)
    assert password not in output
    assert get_user_model().objects.filter(username="curator").count() == 1
    assert get_user_model().objects.get(username="curator").check_password(password)
    assert Group.objects.filter(name="Curators").count() == 1


def test_ensure_curator_leaves_an_existing_account_alone():
    existing = UserFactory(username="curator", is_staff=False)

    output = run("ensure_curator")

    existing.refresh_from_db()
    assert not PASSWORD_LINE.search(output)
    assert existing.check_password("correct horse battery staple")
    assert not existing.is_staff


def test_ensure_curator_named_account():
    output = run("ensure_curator", "--username", "mary")

    assert "'mary'" in output
    assert get_user_model().objects.get(username="mary").groups.filter(name="Curators").exists()
