from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from biomuseum.admin_previews import PreviewMixin
from biomuseum.admin_revisions import RevisionsAdmin
from biomuseum.admin_widgets import (
    ProcessedImageAdminMixin,
    after_image_formset_saved,
    image_preview,
    short_datetime,
)
from biomuseum.frontendlinks import ViewOnFrontendMixin

from .. import services
from ..models import ORGANISM_RANKS, Organism, OrganismImage, Taxon, TaxonomicStatus, VernacularName
from ..services import EDITABLE_FIELDS, FIELDS_FROM_THE_TAXON, TAXON_FIELDS


class OrganismImageInline(ProcessedImageAdminMixin, admin.StackedInline):
    """Stacked, a photograph's fields in a few rows: as a table's columns (eight, three of them text) they were
    wider than any screen, and the processing status was the one off it."""

    model = OrganismImage
    preview_size = 120
    extra = 0
    fields = (("preview", "processing"), "original", "alt_text", "caption", ("credit", "licence"), "position")
    readonly_fields = ("preview", "processing")


TAXON_HELP = "An accepted species, subspecies or variety: the scientific name and the ranks come from it."


class OrganismAdminForm(forms.ModelForm):
    """A chosen taxon supplies the scientific name and ranks (the service copies them from the tree); without
    one they are typed, and place the record in the tree as before. A record with a taxon keeps one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "taxon" in self.fields:
            self.fields["taxon"].required = bool(self.instance.taxon_id)
            self.fields["taxon"].help_text = TAXON_HELP
        # The taxon gives these when one is chosen (clean() asks for them otherwise); a new record's slug
        # follows its scientific name.
        optional = ["scientific_name", "kingdom", *([] if self.instance.pk else ["slug"])]
        for name in optional:
            if name in self.fields:
                self.fields[name].required = False

    def clean_taxon(self):
        taxon = self.cleaned_data.get("taxon")
        if taxon is not None:
            try:
                services.validate_organism_taxon(taxon, organism=self.instance)
            except ValidationError as error:
                raise forms.ValidationError(error.message_dict["taxon"]) from error
        return taxon

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("taxon") is not None:
            for name in FIELDS_FROM_THE_TAXON:
                cleaned.pop(name, None)
            return cleaned
        cleaned.pop("taxon", None)
        for name in ("scientific_name", "kingdom"):
            if name in self.fields and name not in self.errors and not cleaned.get(name):
                self.add_error(name, "This field is required, unless a taxon is chosen.")
        return cleaned


@admin.register(Organism)
class OrganismAdmin(PreviewMixin, ViewOnFrontendMixin, RevisionsAdmin):
    preview_type = "organism"
    frontend_path_setting = "FRONTEND_ORGANISM_PATH"
    list_display = (
        "thumbnail",
        "common_name",
        "scientific_name",
        "kingdom",
        "class_name",
        "iucn_status",
        "public",
        "updated",
    )
    list_display_links = ("thumbnail", "common_name")
    # Only the ranks with few values filter usefully; orders and finer ranks grow with the catalogue and are
    # found by search.
    list_filter = ("is_published", "conservation_status", "kingdom", "phylum", "class_name")
    search_fields = ("scientific_name", "common_name", "=slug")
    search_help_text = "Search by common or scientific name, or by exact slug (=panthera-uncia finds that one record)."
    form = OrganismAdminForm
    readonly_fields = ("created_at", "updated_at")
    autocomplete_fields = ("taxon",)
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over 100k rows on every search
    ordering = ("scientific_name",)
    inlines = [OrganismImageInline]
    actions = ["publish", "unpublish"]
    fieldsets = (
        (None, {"fields": ("common_name", "scientific_name", "slug", "is_published")}),
        ("Taxonomy", {"fields": ("taxon", ("kingdom", "phylum"), ("class_name", "order_name"), ("family", "genus"))}),
        ("Conservation and range", {"fields": ("conservation_status", "habitat", "distribution")}),
        ("Description", {"fields": ("description",)}),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("images", queryset=OrganismImage.objects.order_by("position", "id")))
        )

    def get_search_results(self, request, queryset, search_term):
        """`=slug` is the one record with that slug: curators copy the slug from a URL and type the `=` that
        Django's `search_fields` notation (and the help text) puts before it."""
        term = search_term.strip()
        if term.startswith("=") and " " not in term:
            return queryset.filter(slug=term.removeprefix("=")), False
        return super().get_search_results(request, queryset, search_term)

    def get_readonly_fields(self, request, obj=None):
        """A record filed under a taxon shows the tree's name and ranks; a curator changes them by choosing
        another taxon (or in the tree itself)."""
        readonly = super().get_readonly_fields(request, obj)
        return (*readonly, *FIELDS_FROM_THE_TAXON) if obj is not None and obj.taxon_id else readonly

    def get_prepopulated_fields(self, request, obj=None):
        # Not the `prepopulated_fields` attribute: a revision's form (simple-history) reads that one as it is,
        # and a record with a taxon has no scientific name field to fill the slug from.
        return {} if obj is not None and obj.taxon_id else {"slug": ("scientific_name",)}

    # Short headings and a short time: at 1280 px, beside the filters, every column shows (tested in a browser).
    @admin.display(description="IUCN status", ordering="conservation_status")
    def iucn_status(self, organism) -> str:
        return organism.get_conservation_status_display()

    @admin.display(description="Public", boolean=True, ordering="is_published")
    def public(self, organism) -> bool:
        return organism.is_published

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, organism) -> str:
        return short_datetime(organism.updated_at)

    @admin.display(description="")
    def thumbnail(self, organism):
        images = organism.images.all()
        return image_preview(images[0] if images else None, size=48)

    def save_model(self, request, obj, form, change):
        fields = {name: value for name, value in form.cleaned_data.items() if name in (*EDITABLE_FIELDS, "slug")}
        if change:
            services.organism_update(organism=obj, user=request.user, **fields)
        else:
            # The admin goes on with `obj` (inlines, log, redirect): it becomes the row the service wrote.
            obj.pk = services.organism_create(user=request.user, **fields).pk
            obj.refresh_from_db()
            obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is OrganismImage:
            after_image_formset_saved(formset, services.organism_image_saved)

    @admin.action(description="Publish selected organisms", permissions=["change"])
    def publish(self, request, queryset):
        changed = services.organism_set_published(organisms=queryset, published=True, user=request.user)
        self.message_user(request, f"Published {changed} organism(s).", messages.SUCCESS)

    @admin.action(description="Unpublish selected organisms", permissions=["change"])
    def unpublish(self, request, queryset):
        changed = services.organism_set_published(organisms=queryset, published=False, user=request.user)
        self.message_user(request, f"Unpublished {changed} organism(s).", messages.SUCCESS)


@admin.register(OrganismImage)
class OrganismImageAdmin(ProcessedImageAdminMixin, RevisionsAdmin):
    """Photographs across the catalogue: find the ones whose processing failed, and run it again."""

    list_display = ("preview", "organism", "alt_text", "processing", "attempts", "updated_at")
    list_filter = ("status",)
    search_fields = ("organism__scientific_name", "organism__common_name", "alt_text")
    list_select_related = ("organism",)
    autocomplete_fields = ("organism",)
    preview_size = 64
    readonly_fields = ("preview", "processing", "width", "height", "attempts", "processed_at", "created_at")
    fields = ("organism", "original", "alt_text", "caption", "credit", "licence", "position", *readonly_fields)
    actions = ["reprocess"]
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.organism_image_saved(image=obj, created=not change, original_changed="original" in form.changed_data)

    @admin.action(description="Process selected images again", permissions=["change"])
    def reprocess(self, request, queryset):
        for image in queryset:
            services.organism_image_reprocess(image=image, user=request.user)
        self.message_user(request, f"Queued {queryset.count()} image(s) for processing.", messages.SUCCESS)


class VernacularNameInline(admin.TabularInline):
    model = VernacularName
    extra = 1
    fields = ("name", "language", "region", "preferred")


class SynonymForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.status = TaxonomicStatus.SYNONYM  # what a row of this inline is, new ones too


class SynonymInline(admin.TabularInline):
    model = Taxon
    form = SynonymForm
    fk_name = "accepted"
    verbose_name, verbose_name_plural = "synonym", "synonyms"
    extra = 0
    fields = ("scientific_name", "authorship", "rank", "status")
    readonly_fields = ("status",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=TaxonomicStatus.SYNONYM)


class TaxonAdminForm(forms.ModelForm):
    class Meta:
        model = Taxon
        fields = ("rank", "scientific_name", "authorship", "parent", "status", "accepted", "gbif_key",
                  "inaturalist_id", "col_id")  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        candidate = Taxon(pk=self.instance.pk, path=self.instance.path, rank=cleaned.get("rank") or "species",
                          status=cleaned.get("status") or TaxonomicStatus.ACCEPTED)  # fmt: skip
        try:
            services.validate_parent(candidate, cleaned.get("parent"))  # the rule a move applies
        except ValidationError as error:
            self.add_error(None if "parent" not in self.fields else "parent", error.message_dict["parent"])
        self._check_the_organisms_beneath(cleaned)
        return cleaned

    def _check_the_organisms_beneath(self, cleaned: dict) -> None:
        """The rule taxon_update applies: organisms filed at or beneath keep a taxon they may have."""
        after = {
            name: cleaned.get(name) or getattr(self.instance, name) for name in ("rank", "scientific_name", "status")
        }
        try:
            services.validate_taxon_change(self.instance, **after)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)


def _choosing_an_organisms_taxon(request) -> bool:
    """Whether the request is the organism form's taxon autocomplete (Django names the field it serves)."""
    asked = (request.GET.get(name) for name in ("app_label", "model_name", "field_name"))
    return tuple(asked) == ("organisms", "organism", "taxon")


@admin.register(Taxon)
class TaxonAdmin(RevisionsAdmin):
    """The tree: find a taxon by any of its names in any language; move it by changing its parent (the
    subtree follows, in one transaction)."""

    form = TaxonAdminForm
    list_display = ("scientific_name", "authorship", "rank", "status", "parent")
    list_filter = ("rank", "status")
    list_select_related = ("parent",)
    search_fields = ("scientific_name", "vernacular_names__name", "=gbif_key", "=source_id")
    search_help_text = (
        "Search by scientific name, a vernacular name in any language, an exact GBIF key or an imported taxonID."
    )
    autocomplete_fields = ("parent", "accepted")
    readonly_fields = ("breadcrumb", "source_id", "created_at", "updated_at")
    inlines = [VernacularNameInline, SynonymInline]
    show_full_result_count = False
    ordering = ("scientific_name",)
    fieldsets = (
        (None, {"fields": ("breadcrumb", "rank", "scientific_name", "authorship", "parent")}),
        ("Status", {"fields": ("status", "accepted")}),
        ("Identifiers", {"fields": ("gbif_key", "inaturalist_id", "col_id", "source_id")}),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    @admin.display(description="Place in the tree")
    def breadcrumb(self, taxon):
        if not taxon.pk:
            return "-"
        ancestors = Taxon.objects.in_bulk(taxon.ancestor_ids)
        links = format_html_join(
            " › ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:organisms_taxon_change", args=[pk]), ancestors[pk].scientific_name)
                for pk in taxon.ancestor_ids
                if pk in ancestors
            ),
        )
        return format_html("{} › <strong>{}</strong>", links, taxon.scientific_name) if links else taxon.scientific_name

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if _choosing_an_organisms_taxon(request):
            queryset = queryset.filter(status=TaxonomicStatus.ACCEPTED, rank__in=ORGANISM_RANKS)
        return queryset, may_have_duplicates

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in (*TAXON_FIELDS, "parent") if name in form.cleaned_data}
        if change:
            services.taxon_update(taxon=Taxon.objects.get(pk=obj.pk), user=request.user, **fields)
        else:
            parent = fields.pop("parent")
            created = services.taxon_create(parent=parent, rank=fields.pop("rank"),
                                            scientific_name=fields.pop("scientific_name"), **fields)  # fmt: skip
            obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False


from .imports import ChecklistImportAdmin  # noqa: E402  (registers itself)

__all__ = ["ChecklistImportAdmin", "OrganismAdmin", "OrganismImageAdmin", "TaxonAdmin"]
