from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from biomuseum.images import ALT_TEXT_REQUIRED, ImageStatus
from blogs import services, tasks
from blogs.admin import PostAdminForm
from blogs.markup import MAX_SOURCE_LENGTH
from blogs.models import AuthorProfile, Delivery, DeliveryStatus, Post, PostStatus, Subscriber, SubscriberStatus

from ..factories import CoverImageFactory, OrganismFactory, PostFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:blogs_post_changelist")
ADD = reverse("admin:blogs_post_add")
PASSWORD = "correct horse battery staple"


def add_form(**overrides) -> dict:
    """What the add page posts: the post's fields and the (empty) cover inline."""
    return {
        "title": "Lichens of the old wall",
        "slug": "lichens-of-the-old-wall",
        "excerpt": "Slow colours.",
        "body": "## Crusts\n\nVery *slow*.<script>alert(1)</script>",
        "status": PostStatus.DRAFT,
        "published_at_0": "",
        "published_at_1": "",
        "cover-TOTAL_FORMS": "0",
        "cover-INITIAL_FORMS": "0",
        "cover-MIN_NUM_FORMS": "0",
        "cover-MAX_NUM_FORMS": "1",
        **overrides,
    }


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def run_action(client: Client, action: str, posts: list[Post]):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [post.pk for post in posts], "index": 0})


# --- the add form ---


def test_post_admin_add_sets_author_and_renders_body(admin_client, admin_user):
    other = UserFactory()
    tag, organism = TagFactory(name="Lichens"), OrganismFactory()

    response = admin_client.post(
        ADD, add_form(author=other.pk, tags=[tag.pk], related_organisms=[organism.pk], body_html="<b>forged</b>")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    post = Post.objects.get()
    assert post.author == admin_user
    assert post.body_html == "<h2>Crusts</h2>\n<p>Very <em>slow</em>.</p>"
    assert post.status == PostStatus.DRAFT
    assert post.published_at is None
    assert list(post.tags.all()) == [tag]
    assert list(post.related_organisms.all()) == [organism]


def test_post_admin_add_published_without_a_time_is_published_now(admin_client):
    before = timezone.now()

    response = admin_client.post(ADD, add_form(status=PostStatus.PUBLISHED))

    assert response.status_code == 302, response.context["adminform"].form.errors
    post = Post.objects.get()
    assert before <= post.published_at <= timezone.now()
    assert post.is_public


def test_post_admin_add_with_a_future_time_schedules(admin_client):
    later = (timezone.now() + timedelta(days=3)).replace(microsecond=0)

    response = admin_client.post(
        ADD,
        add_form(
            status=PostStatus.PUBLISHED,
            published_at_0=later.strftime("%d/%m/%Y"),
            published_at_1=later.strftime("%H:%M:%S"),
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    post = Post.objects.get()
    assert post.published_at == later
    assert not post.is_public


def test_post_admin_change_keeps_the_author(admin_client):
    author = UserFactory()
    post = PostFactory(author=author, slug="kept", body="old")

    response = admin_client.post(
        reverse("admin:blogs_post_change", args=[post.pk]),
        add_form(slug="kept", body="*new*", status=PostStatus.DRAFT),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    post.refresh_from_db()
    assert post.author == author
    assert post.body_html == "<p><em>new</em></p>"


def test_post_admin_change_page_shows_rendered_html_and_cover(admin_client):
    post = PostFactory(body="## Seen\n\ntext")
    CoverImageFactory(post=post)

    response = admin_client.get(reverse("admin:blogs_post_change", args=[post.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<div style="max-width:60em"><h2>Seen</h2>' in content
    assert '<img src="/media/r/c-320.webp" alt="A test cover" style="max-width:240px' in content


# --- the changelist ---


def test_post_admin_changelist_shows_visibility(admin_client):
    PostFactory(title="Out now")
    PostFactory(title="Coming", published_at=timezone.now() + timedelta(days=1))
    PostFactory(title="Unfinished", status=PostStatus.DRAFT, published_at=None)

    response = admin_client.get(CHANGELIST)

    rows = {post.title: post for post in response.context["cl"].result_list}
    admin = response.context["cl"].model_admin
    assert {title: admin.visibility(post) for title, post in rows.items()} == {
        "Out now": "public",
        "Coming": "scheduled",
        "Unfinished": "draft",
    }


def test_post_admin_publish_action(admin_client):
    draft = PostFactory(status=PostStatus.DRAFT, published_at=None)
    scheduled = PostFactory(published_at=timezone.now() + timedelta(days=5))
    untouched = PostFactory(status=PostStatus.DRAFT, published_at=None)

    response = run_action(admin_client, "publish", [draft, scheduled])

    assert response.status_code == 302
    draft.refresh_from_db()
    scheduled.refresh_from_db()
    untouched.refresh_from_db()
    assert draft.is_public
    assert scheduled.is_public
    assert untouched.status == PostStatus.DRAFT


def test_post_admin_publish_action_keeps_the_date_of_a_post_published_before(admin_client):
    first_published = timezone.now() - timedelta(days=30)
    corrected = PostFactory(status=PostStatus.DRAFT, published_at=first_published)
    scheduled = PostFactory(published_at=timezone.now() + timedelta(days=5))
    before = timezone.now()

    response = run_action(admin_client, "publish", [corrected, scheduled])

    corrected.refresh_from_db()
    scheduled.refresh_from_db()
    assert corrected.is_public and corrected.published_at == first_published
    assert before <= scheduled.published_at <= timezone.now()
    assert "keeps its first date" in [str(message) for message in response.wsgi_request._messages][0]


def test_post_admin_publish_action_label_does_not_promise_now(admin_client):
    response = admin_client.get(CHANGELIST)

    labels = dict(response.context["action_form"].fields["action"].choices)
    assert labels["publish"] == "Publish selected posts (a post published before keeps its date)"
    assert "now" not in labels["publish"]


def test_post_admin_unpublish_action(admin_client):
    public = PostFactory()
    untouched = PostFactory()

    response = run_action(admin_client, "unpublish", [public])

    assert response.status_code == 302
    public.refresh_from_db()
    untouched.refresh_from_db()
    assert public.status == PostStatus.DRAFT
    assert untouched.is_public


def test_post_admin_actions_need_change_permission(staff_with):
    client = logged_in(staff_with("blogs.view_post"))
    draft = PostFactory(status=PostStatus.DRAFT, published_at=None)

    response = client.get(CHANGELIST)
    run_action(client, "publish", [draft])

    assert response.context["action_form"] is None
    draft.refresh_from_db()
    assert draft.status == PostStatus.DRAFT


def test_post_admin_curator_can_publish(staff_with):
    client = logged_in(staff_with("blogs.view_post", "blogs.change_post"))
    draft = PostFactory(status=PostStatus.DRAFT, published_at=None)

    run_action(client, "publish", [draft])

    draft.refresh_from_db()
    assert draft.is_public


def test_post_admin_changelist_shows_the_covers_smallest_rendition(admin_client):
    CoverImageFactory(post=PostFactory(title="With a cover"))
    PostFactory(title="Without a cover")

    response = admin_client.get(CHANGELIST)

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count("max-width:48px") == 1
    assert '<img src="/media/r/c-320.webp" alt="A test cover" style="max-width:48px;max-height:48px' in content
    assert "Without a cover" in content


def test_post_admin_changelist_queries_do_not_grow_with_covers(admin_client, django_assert_max_num_queries):
    for _ in range(2):
        CoverImageFactory()
    with django_assert_max_num_queries(12) as few:
        admin_client.get(CHANGELIST)
    for _ in range(8):
        CoverImageFactory()
    with django_assert_max_num_queries(len(few)):
        response = admin_client.get(CHANGELIST)
    assert response.content.decode().count('<img src="/media/r/c-320.webp"') == 10


def test_post_admin_reprocess_cover_resets_it_and_queues_the_job(
    admin_client, eager_jobs, django_capture_on_commit_callbacks
):
    failed = CoverImageFactory(status=ImageStatus.FAILED, error="Processing took too long.", attempts=5, renditions=[])
    untouched = CoverImageFactory(status=ImageStatus.FAILED, error="left alone", attempts=5)
    coverless = PostFactory()

    with django_capture_on_commit_callbacks() as queued:
        response = run_action(admin_client, "reprocess_cover", [failed.post, coverless])

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.attempts, failed.job_id) == (ImageStatus.PENDING, "", 0, "")
    assert len(queued) == 1  # queued for after the commit, not processed inline
    for callback in queued:
        callback()  # the commit: the task runs (eagerly) on the real original
    failed.refresh_from_db()
    untouched.refresh_from_db()
    assert failed.status == ImageStatus.READY and failed.attempts == 1
    assert {r["format"] for r in failed.renditions} >= {"webp", "jpeg"}
    assert failed.renditions[0]["url"].startswith("/media/renditions/")
    assert (untouched.status, untouched.error) == (ImageStatus.FAILED, "left alone")
    messages = [str(message) for message in response.wsgi_request._messages]
    assert messages == ["Queued 1 cover(s) for processing."]


def test_post_admin_reprocess_cover_needs_change_permission(staff_with, django_capture_on_commit_callbacks):
    client = logged_in(staff_with("blogs.view_post"))
    cover = CoverImageFactory(status=ImageStatus.FAILED, attempts=5)

    with django_capture_on_commit_callbacks() as queued:
        run_action(client, "reprocess_cover", [cover.post])

    cover.refresh_from_db()
    assert cover.status == ImageStatus.FAILED and cover.attempts == 5
    assert queued == []


# --- email to subscribers ---


def test_post_admin_change_form_shows_delivery_progress(admin_client):
    queued_at = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    post = PostFactory(notifications_queued_at=queued_at)
    other = PostFactory(notifications_queued_at=queued_at)
    readers = Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{i}@example.org", status=SubscriberStatus.CONFIRMED) for i in range(7)
    )
    states = (
        [DeliveryStatus.SENT] * 3 + [DeliveryStatus.FAILED] + [DeliveryStatus.PENDING] * 2 + [DeliveryStatus.SENDING]
    )
    Delivery.objects.bulk_create(
        Delivery(post=post, subscriber=reader, status=state) for reader, state in zip(readers, states, strict=True)
    )
    Delivery.objects.bulk_create(
        Delivery(post=other, subscriber=reader, status=DeliveryStatus.SENT) for reader in readers
    )

    content = admin_client.get(reverse("admin:blogs_post_change", args=[post.pk])).content.decode()

    expected = f"2 pending, 1 sending, 3 sent, 1 failed (queued {queued_at:%Y-%m-%d %H:%M})"
    assert "Email to subscribers" in content
    assert expected in content


def test_post_admin_change_form_says_when_nothing_was_sent(admin_client):
    post = PostFactory(status=PostStatus.DRAFT, published_at=None)

    content = admin_client.get(reverse("admin:blogs_post_change", args=[post.pk])).content.decode()

    assert "not sent (sent when the post is public)" in content


# --- autocomplete ---


def autocomplete(client: Client, term: str):
    return client.get(
        reverse("admin:autocomplete"),
        {"app_label": "blogs", "model_name": "post", "field_name": "related_organisms", "term": term},
    )


def test_post_admin_related_organisms_autocomplete_finds_organisms(admin_client):
    fox = OrganismFactory(common_name="Red fox", scientific_name="Vulpes vulpes", slug="vulpes-vulpes")
    fennec = OrganismFactory(common_name="Fennec fox", scientific_name="Vulpes zerda", slug="vulpes-zerda")
    OrganismFactory(common_name="Barn owl", scientific_name="Tyto alba", slug="tyto-alba")

    by_common = autocomplete(admin_client, "fox")
    by_scientific = autocomplete(admin_client, "vulpes z")

    assert by_common.status_code == 200
    assert {row["id"] for row in by_common.json()["results"]} == {str(fox.pk), str(fennec.pk)}
    assert by_scientific.json()["results"] == [{"id": str(fennec.pk), "text": str(fennec)}]


def test_post_admin_related_organisms_autocomplete_needs_permission(staff_with):
    client = logged_in(staff_with("blogs.change_post"))
    OrganismFactory(common_name="Red fox")

    assert autocomplete(client, "fox").status_code == 403


def test_post_admin_add_page_loads(admin_client):
    response = admin_client.get(ADD)

    assert response.status_code == 200
    assert 'name="cover-TOTAL_FORMS"' in response.content.decode()


def test_post_admin_change_page_never_renders_script_from_the_body(admin_client):
    post = PostFactory(body="<img src=x onerror=alert(2)>\n\nok <script>alert(1)</script>")

    content = admin_client.get(reverse("admin:blogs_post_change", args=[post.pk])).content.decode()

    assert "<script>alert(" not in content
    assert "<img src=x onerror" not in content
    assert f'<div style="max-width:60em">{post.body_html}</div>' in content
    assert '<img src="x">' in post.body_html


# --- one publication rule for the admin's form and the service ---

NOW = timezone.now().replace(microsecond=0)
PUBLICATION_INPUTS = [
    (PostStatus.DRAFT, None),
    (PostStatus.DRAFT, NOW + timedelta(days=2)),
    (PostStatus.PUBLISHED, None),
    (PostStatus.PUBLISHED, NOW - timedelta(days=2)),
    (PostStatus.PUBLISHED, NOW + timedelta(days=2)),
    ("archived", None),
]


def through_the_form(status, published_at) -> tuple[bool, object]:
    form = PostAdminForm(
        data={"title": "Moths", "slug": "moths", "body": "Dusk.", "status": status, "published_at": published_at or ""}
    )
    valid = form.is_valid()
    return valid, form.cleaned_data.get("published_at") if valid else None


def through_the_service(status, published_at) -> tuple[bool, object]:
    try:
        post = services.post_create(author=None, title="Moths", body="Dusk.", status=status, published_at=published_at)
    except ValidationError:
        return False, None
    return True, post.published_at


@pytest.mark.parametrize(("status", "published_at"), PUBLICATION_INPUTS)
def test_post_admin_form_and_service_accept_and_refuse_the_same_publications(status, published_at):
    before = timezone.now()

    form_valid, form_time = through_the_form(status, published_at)
    service_valid, service_time = through_the_service(status, published_at)

    assert form_valid == service_valid == (status != "archived")
    if status == PostStatus.PUBLISHED and published_at is None:
        assert before <= form_time <= timezone.now() and before <= service_time <= timezone.now()
    else:
        assert form_time == service_time == (published_at if form_valid else None)


def test_post_admin_form_uses_the_services_publication_rule(monkeypatch):
    fixed = NOW - timedelta(hours=5)
    monkeypatch.setattr(services, "publication_time", lambda *, status, published_at: fixed)

    assert through_the_form(PostStatus.PUBLISHED, None) == (True, fixed)


# --- saves go through the services ---


def test_post_admin_add_goes_through_post_create(admin_client, admin_user, monkeypatch):
    created = []
    original = services.post_create
    monkeypatch.setattr(services, "post_create", lambda **kwargs: created.append(kwargs) or original(**kwargs))
    tag, organism = TagFactory(name="Lichens"), OrganismFactory()

    response = admin_client.post(ADD, add_form(tags=[tag.pk], related_organisms=[organism.pk]))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert [call["author"] for call in created] == [admin_user]
    post = Post.objects.get()
    assert response["Location"].endswith(reverse("admin:blogs_post_changelist"))
    assert list(post.tags.all()) == [tag] and list(post.related_organisms.all()) == [organism]


def test_post_admin_change_goes_through_post_update(admin_client, monkeypatch):
    post = PostFactory(slug="kept")
    updated = []
    original = services.post_update
    monkeypatch.setattr(services, "post_update", lambda **kwargs: updated.append(kwargs) or original(**kwargs))
    tag = TagFactory(name="Moss")

    response = admin_client.post(
        reverse("admin:blogs_post_change", args=[post.pk]), add_form(slug="kept", title="Mosses", tags=[tag.pk])
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert [call["post"].pk for call in updated] == [post.pk]
    post.refresh_from_db()
    assert post.title == "Mosses" and list(post.tags.all()) == [tag]


def test_post_admin_add_announces_a_public_post(admin_client, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    task = tasks.notify_subscribers
    monkeypatch.setattr(task, "delay_on_commit", lambda *args: queued.append((task.name, args)))

    response = admin_client.post(ADD, add_form(status=PostStatus.PUBLISHED))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert queued == [("blogs.notify_subscribers", (Post.objects.get().pk,))]


def test_post_admin_form_refuses_a_body_over_the_length_cap_the_api_applies():
    too_long = PostAdminForm(data={"title": "Moths", "slug": "moths", "body": "x" * (MAX_SOURCE_LENGTH + 1),
                                   "status": PostStatus.DRAFT})  # fmt: skip
    at_the_cap = PostAdminForm(data={"title": "Moths", "slug": "moths", "body": "x" * MAX_SOURCE_LENGTH,
                                     "status": PostStatus.DRAFT})  # fmt: skip

    assert not too_long.is_valid()
    assert list(too_long.errors) == ["body"]
    assert str(MAX_SOURCE_LENGTH) in too_long.errors["body"][0]
    assert at_the_cap.is_valid(), at_the_cap.errors


def test_post_admin_add_page_caps_the_body_field(admin_client):
    response = admin_client.get(ADD)

    assert f'maxlength="{MAX_SOURCE_LENGTH}"' in response.content.decode()


# --- subscribers, for the Curators group ---

SUBSCRIBERS = reverse("admin:blogs_subscriber_changelist")


@pytest.fixture
def curator_in_the_group() -> Client:
    call_command("ensure_curator", stdout=StringIO())
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Curators"))
    return logged_in(user)


def test_subscriber_admin_curators_see_each_address_state_masked(curator_in_the_group):
    Subscriber.objects.create(email="anna.berg@example.org", status=SubscriberStatus.CONFIRMED,
                              confirmed_at=timezone.now())  # fmt: skip
    Subscriber.objects.create(email="pending@example.net")

    response = curator_in_the_group.get(SUBSCRIBERS)

    assert response.status_code == 200
    content = response.content.decode()
    assert "a•••@example.org" in content and "p•••@example.net" in content
    assert "anna.berg@example.org" not in content
    assert "Confirmed" in content and "Pending confirmation" in content


def test_subscriber_admin_curators_find_one_exact_address(curator_in_the_group):
    anna = Subscriber.objects.create(email="anna.berg@example.org")
    Subscriber.objects.create(email="other@example.org")

    response = curator_in_the_group.get(SUBSCRIBERS, {"q": "anna.berg@example.org"})

    assert list(response.context["cl"].result_list) == [anna]
    assert curator_in_the_group.get(SUBSCRIBERS, {"q": "example.org"}).context["cl"].result_list.count() == 0


def test_subscriber_admin_curators_cannot_add_change_delete_or_export(curator_in_the_group):
    subscriber = Subscriber.objects.create(email="anna.berg@example.org")
    change = reverse("admin:blogs_subscriber_change", args=[subscriber.pk])

    listing = curator_in_the_group.get(SUBSCRIBERS)
    page = curator_in_the_group.get(change)

    assert listing.context["action_form"] is None  # no bulk action at all: nothing to export or delete
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert curator_in_the_group.get(reverse("admin:blogs_subscriber_add")).status_code == 403
    assert curator_in_the_group.post(change, {"email": "x@example.org", "status": "confirmed"}).status_code == 403
    assert curator_in_the_group.post(reverse("admin:blogs_subscriber_delete", args=[subscriber.pk]),
                                     {"post": "yes"}).status_code == 403  # fmt: skip
    subscriber.refresh_from_db()
    assert (subscriber.email, subscriber.status) == ("anna.berg@example.org", SubscriberStatus.PENDING)


def test_subscriber_admin_nobody_adds_or_edits_an_address(admin_client):
    subscriber = Subscriber.objects.create(email="anna.berg@example.org")

    assert admin_client.get(reverse("admin:blogs_subscriber_add")).status_code == 403
    admin_client.post(reverse("admin:blogs_subscriber_change", args=[subscriber.pk]), {"status": "confirmed"})

    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.PENDING


def test_post_admin_refuses_a_cover_without_alt_text(admin_client, django_capture_on_commit_callbacks):
    form = add_form(**{"cover-TOTAL_FORMS": "1", "cover-0-original": CoverImageFactory.build().original,
                       "cover-0-alt_text": ""})  # fmt: skip

    with django_capture_on_commit_callbacks():
        response = admin_client.post(ADD, form)

    assert response.status_code == 200
    assert ALT_TEXT_REQUIRED in response.content.decode()
    assert not Post.objects.exists()


# --- author profiles: the byline ---

PROFILES = reverse("admin:blogs_authorprofile_changelist")


def test_author_profile_admin_a_curator_sets_their_own_display_name(curator_in_the_group):
    curator = curator_in_the_group.session["_auth_user_id"]
    other = AuthorProfile.objects.create(user=UserFactory(), display_name="Someone else")

    response = curator_in_the_group.post(reverse("admin:blogs_authorprofile_add"), {"display_name": "Mary Anning"})

    assert response.status_code == 302
    assert AuthorProfile.objects.get(user_id=curator).display_name == "Mary Anning"
    assert list(curator_in_the_group.get(PROFILES).context["cl"].result_list) == [
        AuthorProfile.objects.get(user_id=curator)
    ]
    assert curator_in_the_group.get(reverse("admin:blogs_authorprofile_change", args=[other.pk])).status_code == 302
    assert curator_in_the_group.get(reverse("admin:blogs_authorprofile_add")).status_code == 403  # one each


def test_post_admin_change_page_shows_the_byline(admin_client):
    author = UserFactory(username="curator")
    AuthorProfile.objects.create(user=author, display_name="Mary Anning")
    post = PostFactory(author=author)

    response = admin_client.get(reverse("admin:blogs_post_change", args=[post.pk]))

    assert "Mary Anning (set the name in Author profiles)" in response.content.decode()
