"""Every write to the catalogue goes through here."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from biomuseum import images
from biomuseum.slugs import unique_slug

from ..models import CURATED_FIELDS, FIELD_RANKS, Organism, OrganismImage
from .taxa import TAXON_FIELDS, place_in_tree, taxon_create, taxon_move, taxon_update, validate_parent

# The tree's writes are in .taxa; callers find every write of the catalogue here.
__all__ = [
    "EDITABLE_FIELDS",
    "TAXON_FIELDS",
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
    "validate_parent",
]

EDITABLE_FIELDS = (*CURATED_FIELDS, "is_published")


def _derive_genus(organism: Organism) -> None:
    """A binomial names its genus first: a record left without one takes it from the scientific name."""
    if not organism.genus and organism.scientific_name:
        organism.genus = organism.scientific_name.split()[0]


@transaction.atomic
def organism_create(*, user: AbstractBaseUser | None, slug: str = "", **fields) -> Organism:
    """A new species record; the slug follows the scientific name unless one is given."""
    organism = Organism(**{name: value for name, value in fields.items() if name in EDITABLE_FIELDS})
    _derive_genus(organism)
    organism.slug = slug or unique_slug(Organism, organism.scientific_name)
    organism.full_clean()
    organism.save()
    place_in_tree([organism])
    return organism


@transaction.atomic
def organism_update(*, organism: Organism, user: AbstractBaseUser | None, **fields) -> Organism:
    """Change the curator-owned fields named; everything else stays as it was. A record deleted meanwhile
    stays deleted (DoesNotExist: a 404 through the API), never written back."""
    if not Organism.objects.select_for_update().filter(pk=organism.pk).exists():
        raise Organism.DoesNotExist("This organism no longer exists.")
    for name, value in fields.items():
        if name in EDITABLE_FIELDS or name == "slug":
            setattr(organism, name, value)
    _derive_genus(organism)
    organism.full_clean()
    organism.save(force_update=True)
    if {"common_name", "scientific_name", *FIELD_RANKS} & set(fields):
        place_in_tree([organism])
    return organism


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
    alt_text: str = "",
    caption: str = "",
    credit: str = "",
    licence: str = "",
    position: int = 0,
) -> OrganismImage:
    """Check the upload, store the original under a generated name, and queue its renditions."""
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
