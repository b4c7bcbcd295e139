"""Writes to the taxon tree: organisms placed in it from their rank fields, taxa created, edited and moved."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from biomuseum.bulk import set_column
from biomuseum.pagecache import content_changed

from ..models import FIELD_RANKS, RANK_LEVEL, Organism, Taxon, TaxonomicStatus, TaxonRank, VernacularName

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
                created = Taxon.objects.bulk_create(list(missing.values()))
                for taxon in created:
                    taxon.path = f"{taxon.parent.path if taxon.parent else '/'}{taxon.pk}/"
                set_column(Taxon, "path", [(taxon.path, taxon.pk) for taxon in created])
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
    and its common name as the taxon's preferred English name."""
    organisms = list(organisms)
    lineages = [_lineage(organism) for organism in organisms]
    tree = _Tree({name for lineage in lineages for _, name in lineage})
    for organism, taxon in zip(organisms, tree.leaves(lineages), strict=True):
        organism.taxon = taxon
    set_column(Organism, "taxon", [(organism.taxon_id, organism.pk) for organism in organisms])
    _prefer_names({organism.taxon_id: organism.common_name.strip() for organism in organisms}, "en")
    content_changed("organisms")  # bulk writes send no signals


def _prefer_names(names: dict[int, str], language: str) -> None:
    """Make `names` ({taxon id: name}) the taxa's preferred names in `language`; the names they replace stay,
    no longer preferred."""
    names = {taxon_id: name for taxon_id, name in names.items() if name}
    current = VernacularName.objects.filter(taxon_id__in=names, language=language, preferred=True)
    current = {vernacular.taxon_id: vernacular for vernacular in current}
    replaced = [vernacular.pk for taxon_id, vernacular in current.items() if vernacular.name != names[taxon_id]]
    VernacularName.objects.filter(pk__in=replaced).update(preferred=False)
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
    """An accepted taxon under `parent` (None: a kingdom, or another root)."""
    taxon = Taxon(parent=parent, rank=rank, scientific_name=scientific_name, **fields)
    validate_parent(taxon, parent)
    taxon.depth = parent.depth + 1 if parent else 0
    taxon.save()
    taxon.path = f"{parent.path if parent else '/'}{taxon.pk}/"
    Taxon.objects.filter(pk=taxon.pk).update(path=taxon.path)
    return taxon


def _check_rank_below(taxon: Taxon, parent: Taxon | None) -> None:
    if parent is not None and RANK_LEVEL[parent.rank] >= RANK_LEVEL[taxon.rank]:
        raise ValidationError({"parent": f"A {taxon.rank} cannot sit under a {parent.rank}."})


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


@transaction.atomic
def taxon_update(*, taxon: Taxon, user: AbstractBaseUser | None, **fields) -> Taxon:
    """Change the fields named; a new `parent` moves the taxon and everything beneath it (taxon_move)."""
    if "parent" in fields and fields["parent"] != taxon.parent:
        taxon = taxon_move(taxon=taxon, parent=fields["parent"], user=user)
    for name, value in fields.items():
        if name in TAXON_FIELDS:
            setattr(taxon, name, value)
    taxon.full_clean(exclude=["path"])
    taxon.save(update_fields=[*(name for name in fields if name in TAXON_FIELDS), "updated_at"])
    return taxon


@transaction.atomic
def taxon_move(*, taxon: Taxon, parent: Taxon | None, user: AbstractBaseUser | None) -> Taxon:
    """Put `taxon`, and everything beneath it, under `parent`: one UPDATE of the subtree's paths, one
    invalidation when the transaction commits. Under itself or one of its own descendants is refused."""
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
    content_changed("organisms")  # .update() sends no signals; the bump waits for the commit, once
    taxon.refresh_from_db()
    return taxon
