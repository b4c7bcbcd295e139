import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from biomuseum.images import ALT_TEXT_REQUIRED, ImageStatus
from organisms import services
from organisms.models import ConservationStatus, Organism, OrganismImage, Taxon, TaxonomicStatus, VernacularName
from organisms.services import EDITABLE_FIELDS

from ..factories import OrganismFactory, OrganismImageFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:organisms_organism_changelist")
IMAGE_CHANGELIST = reverse("admin:organisms_organismimage_changelist")
AUTOCOMPLETE = reverse("admin:autocomplete")
PASSWORD = "correct horse battery staple"


def listed(response) -> list[Organism]:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def run_action(client: Client, action: str, organisms: list[Organism]):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [organism.pk for organism in organisms], "index": 0}
    )


@pytest.fixture
def curator_client(staff_with) -> Client:
    return logged_in(staff_with("organisms.view_organism", "organisms.change_organism"))


# --- the changelist ---


def test_organism_changelist_loads(admin_client):
    OrganismFactory.create_batch(3)

    assert len(listed(admin_client.get(CHANGELIST))) == 3


@pytest.mark.parametrize("term", ["red fox", "VULPES", "vulpes vul"])
def test_organism_changelist_search_finds_by_common_and_scientific_name(admin_client, term):
    fox = OrganismFactory(common_name="Red fox", scientific_name="Vulpes vulpes", slug="vulpes-vulpes")
    OrganismFactory(common_name="Barn owl", scientific_name="Tyto alba", slug="tyto-alba")

    assert listed(admin_client.get(CHANGELIST, {"q": term})) == [fox]


def test_organism_changelist_search_by_exact_slug_only(admin_client):
    fox = OrganismFactory(common_name="Red fox", scientific_name="Vulpes vulpes", slug="vulpes-vulpes")

    assert listed(admin_client.get(CHANGELIST, {"q": "vulpes-vulpes"})) == [fox]
    assert listed(admin_client.get(CHANGELIST, {"q": "vulpes-vul"})) == []


@pytest.mark.parametrize("term", ["=vulpes-vulpes", " =vulpes-vulpes "])
def test_organism_changelist_search_with_an_equals_sign_finds_the_exact_slug(admin_client, term):
    fox = OrganismFactory(common_name="Red fox", scientific_name="Vulpes vulpes", slug="vulpes-vulpes")
    OrganismFactory(common_name="Corsac fox", scientific_name="Vulpes corsac", slug="vulpes-corsac")

    assert listed(admin_client.get(CHANGELIST, {"q": term})) == [fox]
    assert listed(admin_client.get(CHANGELIST, {"q": "=vulpes"})) == []


def test_organism_changelist_filters_by_kingdom(admin_client):
    oak = OrganismFactory(kingdom="Plantae")
    OrganismFactory(kingdom="Animalia")

    assert listed(admin_client.get(CHANGELIST, {"kingdom": "Plantae"})) == [oak]


@pytest.mark.parametrize("term", ["ulpes vul", "Red f", "RED FOX"])
def test_organism_changelist_search_finds_one_among_many_by_partial_name(admin_client, term):
    OrganismFactory.create_batch(60)
    fox = OrganismFactory(common_name="Red fox", scientific_name="Vulpes vulpes", slug="vulpes-vulpes")

    assert listed(admin_client.get(CHANGELIST, {"q": term})) == [fox]


def test_organism_changelist_filters_by_phylum(admin_client):
    moss = OrganismFactory(kingdom="Plantae", phylum="Bryophyta")
    OrganismFactory(kingdom="Plantae", phylum="Tracheophyta")

    response = admin_client.get(CHANGELIST, {"phylum": "Bryophyta"})

    assert listed(response) == [moss]
    assert [spec.title for spec in response.context["cl"].filter_specs][-2:] == ["phylum", "class"]


def test_organism_changelist_has_no_order_filter(admin_client):
    # Orders run to one per species or so: the sidebar would be a long list (organisms/admin.py).
    response = admin_client.get(CHANGELIST)

    assert "order" not in [spec.title for spec in response.context["cl"].filter_specs]


def test_organism_changelist_filters_by_conservation_status(admin_client):
    rare = OrganismFactory(conservation_status=ConservationStatus.CRITICALLY_ENDANGERED)
    OrganismFactory(conservation_status=ConservationStatus.LEAST_CONCERN)

    assert listed(admin_client.get(CHANGELIST, {"conservation_status__exact": "CR"})) == [rare]


def test_organism_changelist_filters_by_is_published(admin_client):
    OrganismFactory(is_published=True)
    hidden = OrganismFactory(is_published=False)

    assert listed(admin_client.get(CHANGELIST, {"is_published__exact": "0"})) == [hidden]


def test_organism_changelist_shows_a_thumbnail_when_an_image_exists(admin_client):
    image = OrganismImageFactory(organism=OrganismFactory(common_name="Pictured"))
    OrganismFactory(common_name="Unpictured")

    content = admin_client.get(CHANGELIST).content.decode()

    # The smallest rendition, not the original.
    assert '<img src="/media/r/a-320.webp" alt="A test photograph" style="max-width:48px' in content
    assert image.original.url not in content
    assert content.count("max-width:48px") == 1


def test_organism_changelist_query_count_does_not_grow_with_organisms(admin_client):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(CHANGELIST)
        assert response.status_code == 200
        return len(queries)

    for organism in OrganismFactory.create_batch(3):
        OrganismImageFactory.create_batch(2, organism=organism)
    few = count_queries()

    for organism in OrganismFactory.create_batch(27):
        OrganismImageFactory.create_batch(2, organism=organism)
    many = count_queries()

    assert many == few


# --- the change page ---


def test_organism_change_page_shows_image_previews(admin_client):
    image = OrganismImageFactory()

    response = admin_client.get(reverse("admin:organisms_organism_change", args=[image.organism.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<img src="/media/r/a-320.webp" alt="A test photograph" style="max-width:120px' in content
    assert ">ready</span>" in content


def test_organism_change_page_without_images_loads(admin_client):
    organism = OrganismFactory()

    response = admin_client.get(reverse("admin:organisms_organism_change", args=[organism.pk]))

    assert response.status_code == 200
    assert organism.scientific_name in response.content.decode()


def test_organism_add_page_prepopulates_the_slug_from_the_scientific_name(admin_client):
    response = admin_client.get(reverse("admin:organisms_organism_add"))

    assert response.status_code == 200
    prepopulated = response.context["adminform"].prepopulated_fields
    assert [(p["field"].name, [d.name for d in p["dependencies"]]) for p in prepopulated] == [
        ("slug", ["scientific_name"])
    ]
    assert "&quot;#id_slug&quot;" in response.content.decode()  # the script's configuration is on the page


def change_form(organism: Organism, **overrides) -> dict:
    """The change form as the admin fills it: a record in the tree names its taxon (its name and ranks come
    from there), one outside it its typed ranks."""
    return {
        **({"taxon": organism.taxon_id} if organism.taxon_id else {}),
        "common_name": organism.common_name,
        "scientific_name": organism.scientific_name,
        "slug": organism.slug,
        "kingdom": organism.kingdom,
        "conservation_status": organism.conservation_status,
        "is_published": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        **overrides,
    }


def test_organism_change_page_shows_timestamps_read_only(admin_client):
    organism = OrganismFactory()
    url = reverse("admin:organisms_organism_change", args=[organism.pk])

    response = admin_client.get(url)
    forged = admin_client.post(
        url, change_form(organism, common_name="Renamed", created_at="2001-01-01 00:00", updated_at="2001-01-01 00:00")
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert {"created_at", "updated_at"}.isdisjoint(response.context["adminform"].form.fields)
    assert 'name="created_at"' not in content and 'name="updated_at"' not in content
    assert "field-created_at" in content and "field-updated_at" in content  # shown, as text
    assert forged.status_code == 302
    saved = Organism.objects.get(pk=organism.pk)
    assert saved.common_name == "Renamed"
    assert saved.created_at == organism.created_at
    assert saved.updated_at > organism.updated_at


def test_organism_change_page_has_a_field_for_everything_curators_write(admin_client):
    response = admin_client.get(reverse("admin:organisms_organism_add"))

    assert set(EDITABLE_FIELDS) | {"slug"} == set(response.context["adminform"].form.fields)


def test_organism_admin_add_derives_the_genus_through_the_service(admin_client):
    new = Organism(common_name="Snow leopard", scientific_name="Panthera uncia", slug="panthera-uncia")
    new.kingdom, new.conservation_status = "Animalia", ConservationStatus.VULNERABLE

    response = admin_client.post(reverse("admin:organisms_organism_add"), change_form(new, genus=""))

    assert response.status_code == 302
    assert Organism.objects.get(slug="panthera-uncia").genus == "Panthera"


def test_organism_admin_refuses_a_photograph_without_alt_text(admin_client, django_capture_on_commit_callbacks):
    organism = OrganismFactory()
    form = change_form(
        organism,
        **{
            "images-TOTAL_FORMS": "1",
            "images-0-original": OrganismImageFactory.build().original,
            "images-0-alt_text": " ",
            "images-0-position": "0",
        },
    )

    with django_capture_on_commit_callbacks():
        response = admin_client.post(reverse("admin:organisms_organism_change", args=[organism.pk]), form)

    assert response.status_code == 200  # the form again, with the error
    assert ALT_TEXT_REQUIRED in response.content.decode()
    assert not OrganismImage.objects.exists()


def test_organism_image_admin_form_asks_for_alt_text(admin_client):
    image = OrganismImageFactory(alt_text="Portrait")
    url = reverse("admin:organisms_organismimage_change", args=[image.pk])

    response = admin_client.post(url, {"organism": image.organism_id, "alt_text": "", "position": "0"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["alt_text"] == [ALT_TEXT_REQUIRED]
    image.refresh_from_db()
    assert image.alt_text == "Portrait"


def test_organism_admin_change_derives_the_genus_through_the_service(admin_client):
    organism = OrganismFactory(scientific_name="Felis catus", genus="Felis", placed=False)  # typed, not in the tree
    url = reverse("admin:organisms_organism_change", args=[organism.pk])

    response = admin_client.post(url, change_form(organism, scientific_name="Panthera uncia", genus=""))

    assert response.status_code == 302
    assert Organism.objects.get(pk=organism.pk).genus == "Panthera"


def test_organism_admin_add_saves_its_image_inline_with_the_new_record(
    admin_client, django_capture_on_commit_callbacks
):
    new = Organism(common_name="Snow leopard", scientific_name="Panthera uncia", slug="panthera-uncia")
    new.kingdom, new.conservation_status = "Animalia", ConservationStatus.VULNERABLE
    photo = OrganismImageFactory.build().original
    form = change_form(
        new,
        **{
            "images-TOTAL_FORMS": "1",
            "images-0-original": photo,
            "images-0-alt_text": "Snow",
            "images-0-position": "0",
        },
    )

    with django_capture_on_commit_callbacks():
        response = admin_client.post(reverse("admin:organisms_organism_add"), form)

    assert response.status_code == 302
    assert list(Organism.objects.get(slug="panthera-uncia").images.values_list("alt_text", flat=True)) == ["Snow"]


# --- bulk actions ---


def test_organism_admin_publish_action(admin_client):
    drafts = OrganismFactory.create_batch(2, is_published=False)
    untouched = OrganismFactory(is_published=False)

    response = run_action(admin_client, "publish", drafts)

    assert response.status_code == 302
    assert set(Organism.objects.filter(is_published=True)) == set(drafts)
    untouched.refresh_from_db()
    assert not untouched.is_published


def test_organism_admin_unpublish_action(admin_client):
    published = OrganismFactory.create_batch(2, is_published=True)
    untouched = OrganismFactory(is_published=True)

    run_action(admin_client, "unpublish", published)

    assert set(Organism.objects.filter(is_published=False)) == set(published)
    untouched.refresh_from_db()
    assert untouched.is_published


def test_organism_admin_publish_action_reports_what_changed(admin_client):
    organisms = [OrganismFactory(is_published=False), OrganismFactory(is_published=True)]

    response = admin_client.post(
        CHANGELIST, {"action": "publish", "_selected_action": [o.pk for o in organisms], "index": 0}, follow=True
    )

    assert "Published 1 organism(s)." in [str(message) for message in response.context["messages"]]


def test_organism_admin_curator_can_use_the_actions(curator_client):
    organism = OrganismFactory(is_published=False)

    choices = dict(curator_client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    run_action(curator_client, "publish", [organism])

    assert {"publish", "unpublish"} <= set(choices)
    organism.refresh_from_db()
    assert organism.is_published


def test_organism_admin_staff_without_change_permission_gets_no_actions(staff_with):
    client = logged_in(staff_with("organisms.view_organism"))
    organism = OrganismFactory(is_published=False)

    response = client.get(CHANGELIST)
    run_action(client, "publish", [organism])

    assert response.status_code == 200
    assert response.context["action_form"] is None
    assert 'value="publish"' not in response.content.decode()
    organism.refresh_from_db()
    assert not organism.is_published


def test_organism_admin_staff_without_view_permission_is_refused(staff_with):
    client = logged_in(staff_with())
    OrganismFactory()

    assert client.get(CHANGELIST).status_code == 403


def test_organism_admin_non_staff_is_sent_to_login():
    client = logged_in(UserFactory(is_staff=False, permissions=["organisms.view_organism"]))

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


# --- the image admin ---


def test_organism_image_admin_reprocess_resets_and_queues_the_job(
    admin_client, eager_jobs, django_capture_on_commit_callbacks
):
    failed = OrganismImageFactory(
        status=ImageStatus.FAILED, error="Processing took too long.", attempts=5, job_id="old", renditions=[]
    )
    untouched = OrganismImageFactory(status=ImageStatus.FAILED, error="left alone", attempts=5)

    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(
            IMAGE_CHANGELIST, {"action": "reprocess", "_selected_action": [failed.pk], "index": 0}
        )

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
    assert (untouched.status, untouched.error) == (ImageStatus.FAILED, "left alone")
    assert [str(m) for m in response.wsgi_request._messages] == ["Queued 1 image(s) for processing."]


def test_organism_image_admin_reprocess_needs_change_permission(staff_with, django_capture_on_commit_callbacks):
    client = logged_in(staff_with("organisms.view_organismimage"))
    image = OrganismImageFactory(status=ImageStatus.FAILED, attempts=5)

    with django_capture_on_commit_callbacks() as queued:
        client.post(IMAGE_CHANGELIST, {"action": "reprocess", "_selected_action": [image.pk], "index": 0})

    image.refresh_from_db()
    assert (image.status, image.attempts) == (ImageStatus.FAILED, 5)
    assert queued == []
    assert not OrganismImage.objects.filter(status=ImageStatus.PENDING).exists()


# --- autocomplete (the post form's related organisms, an image's organism) ---


@pytest.mark.parametrize(
    ("source", "field"), [(("blogs", "post"), "related_organisms"), (("organisms", "organismimage"), "organism")]
)
def test_organism_autocomplete_returns_matches(admin_client, source, field):
    OrganismFactory.create_batch(30)
    fox = OrganismFactory(common_name="Red fox", scientific_name="Vulpes vulpes", slug="vulpes-vulpes")
    fennec = OrganismFactory(common_name="Fennec fox", scientific_name="Vulpes zerda", slug="vulpes-zerda")
    app_label, model_name = source

    response = admin_client.get(
        AUTOCOMPLETE, {"app_label": app_label, "model_name": model_name, "field_name": field, "term": "vulpes"}
    )

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": str(fox.pk), "text": str(fox)},
        {"id": str(fennec.pk), "text": str(fennec)},
    ]
    by_common_name = admin_client.get(
        AUTOCOMPLETE, {"app_label": app_label, "model_name": model_name, "field_name": field, "term": "fennec"}
    )
    assert [r["id"] for r in by_common_name.json()["results"]] == [str(fennec.pk)]


def test_organism_autocomplete_refuses_staff_who_cannot_view_organisms(staff_with):
    # Django asks for view permission on the organisms listed, not on the form's model.
    client = logged_in(staff_with("blogs.view_post", "blogs.change_post"))
    OrganismFactory(common_name="Red fox", scientific_name="Vulpes vulpes", slug="vulpes-vulpes")

    response = client.get(
        AUTOCOMPLETE, {"app_label": "blogs", "model_name": "post", "field_name": "related_organisms", "term": "vul"}
    )

    assert response.status_code == 403


# --- the taxon, chosen by autocomplete ---


@pytest.fixture
def felidae() -> dict[str, Taxon]:
    """Animalia > Chordata > Mammalia > Carnivora > Felidae > Panthera > P. leo > P. leo persica; a synonym."""
    taxa, parent = {}, None
    for rank, name in [("kingdom", "Animalia"), ("phylum", "Chordata"), ("class", "Mammalia"),
                       ("order", "Carnivora"), ("family", "Felidae"), ("genus", "Panthera"),
                       ("species", "Panthera leo"), ("subspecies", "Panthera leo persica")]:  # fmt: skip
        parent = taxa[name] = services.taxon_create(parent=parent, rank=rank, scientific_name=name)
    taxa["Panthera onca"] = services.taxon_create(parent=taxa["Panthera"], rank="species",
                                                  scientific_name="Panthera onca")  # fmt: skip
    taxa["Felis leo"] = Taxon.objects.create(rank="species", scientific_name="Felis leo", path="",
                                             status=TaxonomicStatus.SYNONYM, accepted=taxa["Panthera leo"])  # fmt: skip
    return taxa


def taxon_choices(client: Client, term: str, model_name: str = "organism", field_name: str = "taxon") -> list[str]:
    response = client.get(
        AUTOCOMPLETE, {"app_label": "organisms", "model_name": model_name, "field_name": field_name, "term": term}
    )
    assert response.status_code == 200
    return [Taxon.objects.get(pk=result["id"]).scientific_name for result in response.json()["results"]]


def test_organism_taxon_autocomplete_offers_only_accepted_species_and_below(admin_client, felidae):
    assert taxon_choices(admin_client, "Panthera") == ["Panthera leo", "Panthera leo persica", "Panthera onca"]
    assert taxon_choices(admin_client, "leo") == ["Panthera leo", "Panthera leo persica"]  # not the synonym
    assert taxon_choices(admin_client, "Felidae") == []
    # The tree's own autocomplete (a taxon's parent) still offers every rank.
    assert "Panthera" in taxon_choices(admin_client, "Panthera", model_name="taxon", field_name="parent")


def test_organism_admin_add_with_a_taxon_takes_the_trees_name_and_ranks(admin_client, felidae):
    new = Organism(common_name="Asiatic lion", scientific_name="", slug="", kingdom="")
    new.conservation_status = ConservationStatus.ENDANGERED

    response = admin_client.post(
        reverse("admin:organisms_organism_add"), change_form(new, taxon=felidae["Panthera leo persica"].pk)
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = Organism.objects.get(taxon=felidae["Panthera leo persica"])
    assert (saved.scientific_name, saved.slug, saved.genus, saved.family, saved.kingdom) == (
        "Panthera leo persica", "panthera-leo-persica", "Panthera", "Felidae", "Animalia"
    )  # fmt: skip


def test_organism_admin_add_with_a_taxon_replaces_the_ranks_typed(admin_client, felidae):
    new = Organism(common_name="Lion", scientific_name="Felis leo", slug="lion", kingdom="Plantae")
    new.conservation_status = ConservationStatus.VULNERABLE

    response = admin_client.post(
        reverse("admin:organisms_organism_add"), change_form(new, taxon=felidae["Panthera leo"].pk, genus="Felis")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = Organism.objects.get(slug="lion")
    assert (saved.scientific_name, saved.kingdom, saved.genus) == ("Panthera leo", "Animalia", "Panthera")


@pytest.mark.parametrize(("name", "message"), [("Panthera", "is a genus"), ("Felis leo", "is a synonym")])
def test_organism_admin_refuses_a_taxon_an_organism_cannot_have(admin_client, felidae, name, message):
    new = Organism(common_name="Lion", scientific_name="", slug="", kingdom="")
    new.conservation_status = ConservationStatus.VULNERABLE

    response = admin_client.post(reverse("admin:organisms_organism_add"), change_form(new, taxon=felidae[name].pk))

    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors["taxon"][0]
    assert not Organism.objects.exists()


def test_organism_admin_add_without_a_taxon_needs_the_scientific_name_and_kingdom(admin_client):
    new = Organism(common_name="Lion", scientific_name="", slug="", kingdom="")
    new.conservation_status = ConservationStatus.VULNERABLE

    response = admin_client.post(reverse("admin:organisms_organism_add"), change_form(new))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"scientific_name", "kingdom"}
    assert errors["kingdom"] == ["This field is required, unless a taxon is chosen."]


def test_organism_admin_change_page_of_a_filed_record_shows_the_ranks_read_only(admin_client, felidae):
    lion = services.organism_create(user=None, common_name="Lion", taxon=felidae["Panthera leo"])

    response = admin_client.get(reverse("admin:organisms_organism_change", args=[lion.pk]))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(services.FIELDS_FROM_THE_TAXON).isdisjoint(form.fields)
    assert form.fields["taxon"].required
    content = response.content.decode()
    assert 'name="family"' not in content and "field-family" in content and "Felidae" in content


def test_organism_admin_change_to_another_taxon_saves_through_the_service(admin_client, felidae):
    organism = services.organism_create(user=None, common_name="Jaguar", taxon=felidae["Panthera leo"])
    form = {
        "common_name": "Jaguar", "slug": organism.slug, "conservation_status": "NT", "is_published": "on",
        "taxon": felidae["Panthera onca"].pk, "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0",
    }  # fmt: skip

    response = admin_client.post(reverse("admin:organisms_organism_change", args=[organism.pk]), form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = Organism.objects.get(pk=organism.pk)
    assert (saved.taxon_id, saved.scientific_name) == (felidae["Panthera onca"].pk, "Panthera onca")
    assert VernacularName.objects.get(taxon=felidae["Panthera onca"], preferred=True).name == "Jaguar"


def test_organism_admin_revision_of_a_record_in_the_tree_opens_and_reverts(admin_client, felidae):
    organism = services.organism_create(
        user=None, common_name="Lion", taxon=felidae["Panthera leo"], habitat="Savanna", is_published=True
    )
    services.organism_update(organism=organism, user=None, habitat="Woodland")
    first = organism.history.earliest()
    url = reverse("admin:organisms_organism_simple_history", args=[organism.pk, first.history_id])
    page = admin_client.get(url)  # no scientific name field to fill the slug from: the form still opens
    assert page.status_code == 200 and page.context["adminform"].form.initial["habitat"] == "Savanna"
    organism.refresh_from_db()
    assert admin_client.post(url, change_form(organism, habitat="Savanna")).status_code == 302
    organism.refresh_from_db()
    assert organism.habitat == "Savanna"
