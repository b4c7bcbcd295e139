"""Revisions: every change to a curated record is recorded, whoever makes it and through whatever path (admin
forms and actions, API writes, imports, jobs, bulk writes, the shell), with who, when, through what and
each field; the admin lists them with their differences and reverts to any of them."""

from pathlib import Path

import pytest
from django.urls import reverse

from biomuseum import revisions
from biomuseum.bulk import set_columns
from biomuseum.pagecache import bump_stats
from blogs.models import Post
from organisms import services
from organisms.models import Organism, Taxon
from tests.factories import OrganismFactory, PostFactory
from tests.organisms.test_admin import change_form

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data" / "dwca"


def latest(record):
    return record.history.latest()


def test_an_admin_edit_is_a_revision_by_the_curator_through_the_admin(admin_client, admin_user):
    organism = OrganismFactory(habitat="Mountains")
    url = reverse("admin:organisms_organism_change", args=[organism.pk])
    assert admin_client.post(url, change_form(organism, habitat="High mountains")).status_code == 302
    revision = latest(organism)
    assert (revision.history_type, revision.history_via, revision.history_user) == ("~", "admin", admin_user)
    assert revision.habitat == "High mountains"
    delta = revision.diff_against(revision.prev_record)
    assert [(change.field, change.old, change.new) for change in delta.changes] == [
        ("habitat", "Mountains", "High mountains")
    ]


def test_an_api_write_is_a_revision_by_the_token_user_through_the_api(token_client):
    organism = OrganismFactory(habitat="Mountains")
    client = token_client("organisms.change_organism")
    response = client.patch(f"/api/v1/organisms/{organism.slug}/", {"habitat": "Steppe"}, format="json")
    assert response.status_code == 200
    revision = latest(organism)
    assert (revision.history_via, revision.history_user, revision.habitat) == ("api", client.user, "Steppe")


def test_bulk_publish_in_the_admin_records_each_record(admin_client):
    organisms = OrganismFactory.create_batch(3, is_published=False)
    changelist = reverse("admin:organisms_organism_changelist")
    action = {"action": "publish", "_selected_action": [organism.pk for organism in organisms]}
    admin_client.post(changelist, action)
    for organism in organisms:
        revision = latest(organism)
        assert (revision.is_published, revision.history_via) == (True, "admin"), revision.history_via


def test_a_bulk_write_records_the_rows_it_wrote():
    organism = OrganismFactory(habitat="Mountains")
    set_columns(Organism, ("habitat",), [("Taiga", organism.pk)])
    revision = latest(organism)
    assert (revision.history_type, revision.habitat, revision.history_via) == ("~", "Taiga", "shell")


def test_an_import_records_what_it_created_through_the_import():
    report = services.checklist_import(path=DATA / "demo-checklist.tsv", user=None)
    assert report.outcome == "imported"
    organism = Organism.objects.get(scientific_name="Strigops habroptilus")
    revision = latest(organism)
    assert (revision.history_type, revision.history_via) == ("+", "import")
    taxon = Taxon.objects.get(pk=organism.taxon_id)
    assert latest(taxon).path == taxon.path != ""  # recorded once complete, its path set
    assert taxon.history.count() == 1


def test_a_job_records_through_the_job(eager_jobs, django_capture_on_commit_callbacks):
    from tests import imagefiles

    organism = OrganismFactory()
    with django_capture_on_commit_callbacks(execute=True):
        upload = imagefiles.upload(imagefiles.jpeg(), name="snow.jpg")
        image = services.organism_image_add(organism=organism, user=None, upload=upload, alt_text="A snow leopard")
    image.refresh_from_db()
    assert image.status == "ready"
    assert latest(image).history_via == "job" and latest(image).status == "ready"
    assert image.history.earliest().history_via == "shell"  # the upload itself, outside any request here


def test_a_channel_must_be_one_of_the_known_ones():
    with pytest.raises(ValueError, match="not a revision channel"), revisions.recording("email"):
        pass


@pytest.mark.django_db(transaction=True)
def test_revert_restores_an_earlier_revision_in_one_transaction_and_is_itself_recorded(admin_client):
    organism = OrganismFactory(habitat="Mountains", is_published=True)
    services.organism_update(organism=organism, user=None, habitat="Desert")
    first = organism.history.earliest()
    bumps = bump_stats()["bumps"]
    url = reverse("admin:organisms_organism_simple_history", args=[organism.pk, first.history_id])
    form = admin_client.get(url)
    assert form.status_code == 200 and "Mountains" in form.content.decode()
    response = admin_client.post(url, change_form(Organism.objects.get(pk=organism.pk), habitat="Mountains"))
    assert response.status_code == 302
    organism.refresh_from_db()
    assert organism.habitat == "Mountains"
    assert bump_stats()["bumps"] == bumps + 1
    revision = latest(organism)
    assert (revision.habitat, revision.history_via, revision.history_type) == ("Mountains", "admin", "~")


def test_the_history_page_lists_each_revision_with_its_changes(admin_client):
    organism = OrganismFactory(habitat="Mountains")
    services.organism_update(organism=organism, user=None, habitat="Desert")
    page = admin_client.get(reverse("admin:organisms_organism_history", args=[organism.pk])).content.decode()
    assert "Habitat:" in page and "Mountains" in page and "Desert" in page
    assert '<th scope="col">through</th>' in page and "<td>shell</td>" in page  # through what


def test_a_deleted_record_keeps_its_history(admin_client):
    post = PostFactory(title="Owls at dusk")
    pk = post.pk
    post.delete()
    assert not Post.objects.filter(pk=pk).exists()
    history = Post.history.filter(id=pk)
    assert [record.history_type for record in history.order_by("history_date")][-1] == "-"
    assert history.latest().title == "Owls at dusk"


# --- a post's links (tags, related organisms) are part of its revisions ---


def post_form(post: Post, **overrides) -> dict:
    from tests.blogs.test_admin import add_form

    return add_form(title=post.title, slug=post.slug, body=post.body, status=post.status, **overrides)


def links(revision) -> tuple[list[str], list[int]]:
    return (
        sorted(row.tag.name for row in revision.tags.all()),
        sorted(row.organism_id for row in revision.related_organisms.all()),
    )


def test_an_admin_save_that_changes_links_is_one_revision_holding_them(admin_client):
    from blogs.services import tags_from_names

    post = PostFactory(status="draft")
    owls, moths = tags_from_names(["owls", "moths"])
    organism = OrganismFactory()
    before = post.history.count()
    url = reverse("admin:blogs_post_change", args=[post.pk])
    form = post_form(post, tags=[owls.pk, moths.pk], related_organisms=[organism.pk])
    assert admin_client.post(url, form).status_code == 302
    assert post.history.count() == before + 1  # the save and both fields' links: one revision
    revision = latest(post)
    assert links(revision) == (["moths", "owls"], [organism.pk])
    changed = {change.field for change in revision.diff_against(revision.prev_record).changes}
    assert {"tags", "related_organisms"} <= changed


def test_a_save_that_leaves_the_links_alone_records_no_link_change(admin_client):
    from blogs.services import post_update, tags_from_names

    post = PostFactory(status="draft", body="Before")
    post.tags.set(tags_from_names(["owls"]))
    post_update(post=post, user=None, body="After", tags=["owls"])
    revision = latest(post)
    assert links(revision) == (["owls"], [])
    assert [change.field for change in revision.diff_against(revision.prev_record).changes] == ["body"]


@pytest.mark.django_db(transaction=True)
def test_links_changed_on_their_own_are_a_revision_of_the_post():
    post = PostFactory()
    organism = OrganismFactory()
    before = post.history.count()
    organism.posts.add(post)  # from the organism's side, outside any other write
    assert post.history.count() == before + 1
    assert links(latest(post)) == ([], [organism.pk])


def test_a_bulk_write_of_posts_keeps_their_links_in_the_revision():
    from blogs.services import tags_from_names

    post = PostFactory(status="draft")
    post.tags.set(tags_from_names(["owls"]))
    set_columns(Post, ("status",), [("published", post.pk)])
    revision = latest(post)
    assert revision.status == "published" and links(revision) == (["owls"], [])
    assert "tags" not in {change.field for change in revision.diff_against(revision.prev_record).changes}


def test_revert_restores_the_links_a_revision_had(admin_client):
    from blogs.services import post_update, tags_from_names

    post = PostFactory(status="draft")
    post_update(post=post, user=None, tags=["owls", "moths"])
    first = latest(post)
    post_update(post=post, user=None, tags=["beetles"])
    url = reverse("admin:blogs_post_simple_history", args=[post.pk, first.history_id])
    form = admin_client.get(url).context["adminform"].form
    owls, moths = tags_from_names(["owls", "moths"])
    assert sorted(form.initial["tags"]) == sorted([owls.pk, moths.pk])  # the revision's links, not today's
    response = admin_client.post(url, post_form(post, tags=form.initial["tags"]))
    assert response.status_code == 302
    assert sorted(post.tags.values_list("name", flat=True)) == ["moths", "owls"]
