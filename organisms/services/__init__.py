"""Every write to the catalogue goes through here."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from biomuseum import images
from biomuseum.slugs import unique_slug

from ..models import CURATED_FIELDS, FIELD_RANKS, Organism, OrganismImage, Taxon
from .checklists import checklist_import
from .lineage import (
    FIELDS_FROM_THE_TAXON,
    FROM_THE_TAXON,
    file_under,
    refuse_fields_from_the_taxon,
    tree_fields,
    validate_organism_taxon,
)
from .taxa import (
    TAXON_FIELDS,
    place_in_tree,
    prefer_common_names,
    taxon_create,
    taxon_move,
    taxon_update,
    validate_parent,
    validate_taxon_change,
)

# The tree's writes are in .taxa, the copy of an organism's lineage on its row in .lineage; callers find every
# write of the catalogue, and the rules forms show first, here.
__all__ = [
    "EDITABLE_FIELDS",
    "FIELDS_FROM_THE_TAXON",
    "FROM_THE_TAXON",
    "TAXON_FIELDS",
    "checklist_import",
    "organism_create",
    "organism_delete",
    "organism_image_add",
    "organism_image_reprocess",
    "organism_image_saved",
    "organism_set_published",
    "organism_update",
    "place_in_tree",
    "taxon_create",
    "taxon_move",
    "taxon_update",
    "tree_fields",
    "validate_organism_taxon",
    "validate_parent",
    "validate_taxon_change",
]

EDITABLE_FIELDS = (*CURATED_FIELDS, "is_published", "taxon")


def _derive_genus(organism: Organism) -> None:
    """A binomial names its genus first: a record left without one takes it from the scientific name."""
    if not organism.genus and organism.scientific_name:
        organism.genus = organism.scientific_name.split()[0]


@transaction.atomic
def organism_create(*, user: AbstractBaseUser | None, slug: str = "", taxon: Taxon | None = None, **fields) -> Organism:
    """A new species record, filed under `taxon` (its scientific name and ranks come with it) or, without one,
    placed in the tree by the ranks and scientific name given; the slug follows the scientific name unless one
    is given."""
    if taxon is not None:
        refuse_fields_from_the_taxon(fields)
    organism = Organism(**{name: value for name, value in fields.items() if name in EDITABLE_FIELDS})
    _name_and_rank(organism, taxon)
    organism.slug = slug or unique_slug(Organism, organism.scientific_name)
    organism.full_clean()
    organism.save()
    if taxon is not None:
        prefer_common_names([organism])
    else:
        place_in_tree([organism])
    return organism


@transaction.atomic
def organism_update(
    *, organism: Organism, user: AbstractBaseUser | None, taxon: Taxon | None = None, **fields
) -> Organism:
    """Change the curator-owned fields named; everything else stays as it was. A `taxon` brings its scientific
    name and ranks; new ranks or a new scientific name without one place the record in the tree as they say. A
    record deleted meanwhile stays deleted (DoesNotExist: a 404 through the API), never written back."""
    if not Organism.objects.select_for_update().filter(pk=organism.pk).exists():
        raise Organism.DoesNotExist("This organism no longer exists.")
    if taxon is not None:
        refuse_fields_from_the_taxon(fields)
    for name, value in fields.items():
        if name in EDITABLE_FIELDS or name == "slug":
            setattr(organism, name, value)
    _name_and_rank(organism, taxon)
    organism.full_clean()
    organism.save(force_update=True)
    if taxon is not None:
        prefer_common_names([organism])
    elif {"common_name", "scientific_name", *FIELD_RANKS} & set(fields):
        place_in_tree([organism])
    return organism


def _name_and_rank(organism: Organism, taxon: Taxon | None) -> None:
    """From the taxon when there is one; otherwise as given, the genus read from a binomial if left out."""
    if taxon is not None:
        file_under(organism, taxon)
    else:
        _derive_genus(organism)


@transaction.atomic
def organism_delete(*, organism: Organism, user: AbstractBaseUser | None) -> None:
    organism.delete()


@transaction.atomic
def organism_set_published(*, organisms: QuerySet, published: bool, user: AbstractBaseUser | None) -> int:
    """Publish or withdraw many records at once (the admin's bulk actions)."""
    changed = 0
    for organism in organisms.select_for_update(of=("self",)).filter(is_published=not published):
        organism.is_published = published
        organism.save(update_fields=["is_published", "updated_at"])
        changed += 1
    return changed


def _queue_processing(image: OrganismImage) -> None:
    from ..tasks import process_organism_image

    process_organism_image.delay_on_commit(image.pk)


@transaction.atomic
def organism_image_add(
    *,
    organism: Organism,
    user: AbstractBaseUser | None,
    upload,
    alt_text: str,
    caption: str = "",
    credit: str = "",
    licence: str = "",
    position: int = 0,
) -> OrganismImage:
    """Check the upload, store the original under a generated name, and queue its renditions."""
    if not alt_text.strip():
        raise ValidationError({"alt_text": [images.ALT_TEXT_REQUIRED]})
    try:
        checked = images.check_upload(upload)
    except images.ImageRejected as error:
        raise ValidationError({"file": [str(error)]}) from error
    image = OrganismImage(
        organism=organism,
        original=upload,
        alt_text=alt_text,
        caption=caption,
        credit=credit,
        licence=licence,
        position=position,
        content_hash=checked.content_hash,
    )
    image.full_clean(exclude=["original"])
    try:
        image.save()  # writes the file first; if that fails, the transaction leaves no row behind
    except OSError as error:
        raise images.StorageUnavailable(f"The upload could not be stored: {error.strerror or error}") from error
    _queue_processing(image)
    return image


@transaction.atomic
def organism_image_reprocess(*, image: OrganismImage, user: AbstractBaseUser | None) -> OrganismImage:
    """Start the image's processing over (after a failure, or when the pipeline changed)."""
    images.restart(image)
    _queue_processing(image)
    return image


def organism_image_saved(*, image: OrganismImage, created: bool, original_changed: bool) -> None:
    """The admin saved an image: a new or replaced original is checked again and processed."""
    if created or original_changed:
        organism_image_reprocess(image=image, user=None)
