"""Writes to the taxon tree: organisms placed in it from their rank fields, taxa created, edited and moved."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from biomuseum.bulk import set_column
from biomuseum.languages import default_language
from biomuseum.pagecache import content_changed
from biomuseum.revisions import record_bulk, record_rows

from ..models import (
    FIELD_RANKS,
    ORGANISM_RANKS,
    RANK_LEVEL,
    Organism,
    Taxon,
    TaxonomicStatus,
    TaxonRank,
    VernacularName,
)
from .lineage import copy_from_the_tree, copy_into_organisms_beneath

# What curators edit on a taxon besides its parent (which moves it: taxon_move).
TAXON_FIELDS = ("rank", "scientific_name", "authorship", "status", "accepted", "gbif_key", "inaturalist_id", "col_id")


class _Tree:
    """Accepted taxa by (parent id, rank, name), read once for the names a batch of organisms uses; the missing
    ones are created a level at a time (one INSERT and one UPDATE of paths per level, whatever the batch)."""

    def __init__(self, names: set[str]):
        self.known = {
            (taxon.parent_id, taxon.rank, taxon.scientific_name): taxon
            for taxon in Taxon.objects.filter(status=TaxonomicStatus.ACCEPTED, scientific_name__in=names)
        }

    def leaves(self, lineages: list[list[tuple[str, str]]]) -> list[Taxon]:
        """The taxon at the end of each lineage ((rank, name) from the top down), created where missing."""
        parents: list[Taxon | None] = [None] * len(lineages)
        for level in range(max(map(len, lineages), default=0)):
            keys = [
                (parent.pk if parent else None, *lineage[level]) if level < len(lineage) else None
                for parent, lineage in zip(parents, lineages, strict=True)
            ]
            missing = {}
            for parent, key in zip(parents, keys, strict=True):
                if key is not None and key not in self.known and key not in missing:
                    rank, name = key[1], key[2]
                    missing[key] = Taxon(parent=parent, rank=rank, scientific_name=name, path="",
                                         depth=parent.depth + 1 if parent else 0)  # fmt: skip
            if missing:
                created = Taxon.objects.bulk_create(list(missing.values()), record=False)
                for taxon in created:
                    taxon.path = f"{taxon.parent.path if taxon.parent else '/'}{taxon.pk}/"
                set_column(Taxon, "path", [(taxon.path, taxon.pk) for taxon in created], record=False)
                record_rows(Taxon, created, created=True)
                self.known.update(missing)
            parents = [
                self.known[key] if key is not None else parent for parent, key in zip(parents, keys, strict=True)
            ]
        return parents


def _lineage(organism: Organism) -> list[tuple[str, str]]:
    """(rank, name) from the kingdom down to the organism's own taxon, as its fields name them."""
    ranks = [(rank, getattr(organism, field).strip()) for field, rank in FIELD_RANKS.items()]
    ranks = [(rank, name) for rank, name in ranks if name]
    words = organism.scientific_name.split()
    if len(words) >= 3:  # a trinomial: the species, then the subspecies or variety beneath it
        ranks.append((TaxonRank.SPECIES, " ".join(words[:2])))
        ranks.append((TaxonRank.VARIETY if words[2] in ("var.", "var") else TaxonRank.SUBSPECIES, " ".join(words)))
    else:
        ranks.append((TaxonRank.SPECIES, organism.scientific_name))
    return ranks


@transaction.atomic
def place_in_tree(organisms) -> None:
    """Give each organism the taxon its rank fields and scientific name describe (creating the missing nodes),
    and its common name as the taxon's preferred name in the site's default language (an organism's own
    `common_name` is written in it: biomuseum.languages). The fields then read as the tree has them
    (stripped, a trinomial's spaces single)."""
    organisms = list(organisms)
    lineages = [_lineage(organism) for organism in organisms]
    tree = _Tree({name for lineage in lineages for _, name in lineage})
    for organism, taxon in zip(organisms, tree.leaves(lineages), strict=True):
        organism.taxon = taxon
    set_column(Organism, "taxon", [(organism.taxon_id, organism.pk) for organism in organisms])
    copy_from_the_tree(organisms)
    prefer_common_names(organisms)
    content_changed("organisms")  # bulk writes send no signals


def prefer_common_names(organisms: list[Organism]) -> None:
    """Each organism's common name becomes its taxon's preferred name in the site's default language."""
    _prefer_names({organism.taxon_id: organism.common_name.strip() for organism in organisms}, default_language())


def _prefer_names(names: dict[int, str], language: str) -> None:
    """Make `names` ({taxon id: name}) the taxa's preferred names in `language`; the names they replace stay,
    no longer preferred."""
    names = {taxon_id: name for taxon_id, name in names.items() if name}
    current = VernacularName.objects.filter(taxon_id__in=names, language=language, preferred=True)
    current = {vernacular.taxon_id: vernacular for vernacular in current}
    replaced = [vernacular.pk for taxon_id, vernacular in current.items() if vernacular.name != names[taxon_id]]
    VernacularName.objects.filter(pk__in=replaced).update(preferred=False)
    record_bulk(VernacularName, replaced)
    VernacularName.objects.bulk_create(
        [
            VernacularName(taxon_id=taxon_id, name=name, language=language, preferred=True)
            for taxon_id, name in names.items()
            if taxon_id not in current or current[taxon_id].name != name
        ],
        update_conflicts=True,  # the name was there, not preferred: it is now
        unique_fields=["taxon", "language", "name"],
        update_fields=["preferred"],
    )


@transaction.atomic
def taxon_create(*, parent: Taxon | None, rank: str, scientific_name: str, **fields) -> Taxon:
    """An accepted taxon under `parent` (None: a kingdom, or another root), or a synonym (`status`, `accepted`;
    no place in the tree, so no path). Checked first (constraints included), so a bad one is a ValidationError."""
    taxon = Taxon(parent=parent, rank=rank, scientific_name=scientific_name, **fields)
    validate_parent(taxon, parent)
    if taxon.accepted is not None and taxon.accepted.status != TaxonomicStatus.ACCEPTED:
        raise ValidationError({"accepted": "A synonym leads to an accepted taxon, not to another synonym."})
    taxon.depth = parent.depth + 1 if parent else 0
    taxon.full_clean(exclude=["path"])
    taxon.save()
    if taxon.status == TaxonomicStatus.ACCEPTED:
        taxon.path = f"{parent.path if parent else '/'}{taxon.pk}/"
        Taxon.objects.filter(pk=taxon.pk).update(path=taxon.path)
        record_bulk(Taxon, [taxon.pk])
    return taxon


def _check_rank_below(taxon: Taxon, parent: Taxon | None) -> None:
    if parent is not None and RANK_LEVEL[parent.rank] >= RANK_LEVEL[taxon.rank]:
        raise ValidationError({"parent": f"A {taxon.rank} cannot sit under a {parent.rank}."})


def _filed_beneath(taxon: Taxon):
    """The organisms at or beneath `taxon` (a synonym, with no path, has none)."""
    return Organism.objects.filter(taxon__path__startswith=taxon.path) if taxon.path else Organism.objects.none()


def _root_is_a_kingdom(taxon: Taxon, parent: Taxon | None) -> bool:
    """Whether `taxon` under `parent` has a kingdom at the top of its lineage (nothing ranks above a kingdom)."""
    if parent is None:
        return taxon.rank == TaxonRank.KINGDOM
    return Taxon.objects.filter(pk=[*parent.ancestor_ids, parent.pk][0], rank=TaxonRank.KINGDOM).exists()


def validate_parent(taxon: Taxon, parent: Taxon | None) -> None:
    """Whether `taxon` may sit under `parent` (the rule taxon_move applies, for forms to show first)."""
    if taxon.status != TaxonomicStatus.ACCEPTED:
        if parent is not None:
            raise ValidationError({"parent": "A synonym has no place in the tree: it leads to its accepted taxon."})
        return
    if parent is not None:
        if taxon.pk and parent.path.startswith(taxon.path):
            raise ValidationError({"parent": "A taxon cannot move under itself or one of its descendants."})
        if parent.status != TaxonomicStatus.ACCEPTED:
            raise ValidationError({"parent": "A synonym cannot hold other taxa."})
    _check_rank_below(taxon, parent)
    if taxon.pk and not _root_is_a_kingdom(taxon, parent) and _filed_beneath(taxon).exists():
        raise ValidationError({"parent": "Organisms beneath this taxon would be left without a kingdom."})


def _rank_change_error(taxon: Taxon, rank: str) -> str | None:
    """Why `taxon` may not become a `rank`, if it may not: organisms filed under it need a species or lower,
    those beneath a kingdom need it to stay one, and its children must still rank below it."""
    if rank not in ORGANISM_RANKS and Organism.objects.filter(taxon=taxon).exists():
        return "Organisms are filed under this taxon: it stays a species, subspecies or variety."
    if taxon.rank == TaxonRank.KINGDOM and _filed_beneath(taxon).exists():
        return "Organisms beneath this taxon would be left without a kingdom."
    child_ranks = set(Taxon.objects.filter(parent=taxon).values_list("rank", flat=True))
    clash = next((child for child in child_ranks if RANK_LEVEL[child] <= RANK_LEVEL[rank]), None)
    return f"A {clash} beneath it cannot sit under a {rank}." if clash else None


def validate_taxon_change(taxon: Taxon, *, rank: str, scientific_name: str, status: str) -> None:
    """Whether the organisms at or beneath `taxon` keep a valid taxon if it takes these values (the rule
    taxon_update applies, for forms to show first): an accepted one, of a rank an organism may have, under a
    kingdom, and a scientific name no other record has."""
    if not taxon.pk:
        return
    errors = {}
    if status != TaxonomicStatus.ACCEPTED and _filed_beneath(taxon).exists():
        errors["status"] = "Organisms are filed at or beneath this taxon: move them before it becomes a synonym."
    if rank != taxon.rank and (error := _rank_change_error(taxon, rank)):
        errors["rank"] = error
    if scientific_name != taxon.scientific_name and Organism.objects.filter(taxon=taxon).exists():
        other = Organism.objects.filter(scientific_name=scientific_name).exclude(taxon=taxon).first()
        if other is not None:
            errors["scientific_name"] = f"{other} has this name already: an organism filed here would take it."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def taxon_update(*, taxon: Taxon, user: AbstractBaseUser | None, **fields) -> Taxon:
    """Change the fields named; a new `parent` moves the taxon and everything beneath it (taxon_move). A new
    name or rank is copied onto every organism beneath, in the same transaction."""
    if "parent" in fields and fields["parent"] != taxon.parent:
        taxon = taxon_move(taxon=taxon, parent=fields["parent"], user=user)
    changes = {name: value for name, value in fields.items() if name in TAXON_FIELDS}
    after = {name: changes.get(name, getattr(taxon, name)) for name in ("rank", "scientific_name", "status")}
    validate_taxon_change(taxon, **after)
    relabelled = (after["rank"], after["scientific_name"]) != (taxon.rank, taxon.scientific_name)
    for name, value in changes.items():
        setattr(taxon, name, value)
    if "rank" in changes:
        _check_rank_below(taxon, taxon.parent)
    taxon.full_clean(exclude=["path"])
    taxon.save(update_fields=[*changes, "updated_at"])
    if relabelled and taxon.path:
        copy_into_organisms_beneath(taxon.path)
    return taxon


@transaction.atomic
def taxon_move(*, taxon: Taxon, parent: Taxon | None, user: AbstractBaseUser | None) -> Taxon:
    """Put `taxon`, and everything beneath it, under `parent`: one UPDATE of the subtree's paths, the organisms
    beneath given their new ranks in bulk, one invalidation when the transaction commits. Under itself or one
    of its own descendants is refused."""
    taxon = Taxon.objects.select_for_update().get(pk=taxon.pk)
    if parent is not None:
        parent = Taxon.objects.get(pk=parent.pk)
    validate_parent(taxon, parent)
    old_path, old_depth = taxon.path, taxon.depth
    new_path = f"{parent.path if parent else '/'}{taxon.pk}/"
    shift = (parent.depth + 1 if parent else 0) - old_depth
    Taxon.objects.filter(pk=taxon.pk).update(parent=parent)
    Taxon.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + shift,
    )
    record_bulk(Taxon, Taxon.objects.filter(path__startswith=new_path).values_list("pk", flat=True))
    copy_into_organisms_beneath(new_path)
    content_changed("organisms")  # .update() sends no signals; the bump waits for the commit, once
    taxon.refresh_from_db()
    return taxon
