"""An organism's place in the tree, copied onto its row.

The tree is the source of an organism's rank fields and scientific name. The six rank columns stay on the
organism as a denormalised copy, so list filters and list rows read them without joins; the writes here keep
the copy equal to the tree, in bulk, inside the transaction that changed the tree.
"""

from collections import Counter

from django.core.exceptions import ValidationError
from django.utils import timezone

from biomuseum.bulk import set_column

from ..models import FIELD_RANKS, ORGANISM_RANKS, Organism, Taxon, TaxonomicStatus, TaxonRank

# What an organism's taxon gives it; a write that names the taxon may not name these as well.
FIELDS_FROM_THE_TAXON = ("scientific_name", *FIELD_RANKS)
FROM_THE_TAXON = "These come from the taxon: send the taxon, or the ranks and the scientific name, not both."
# Organisms rewritten per round: the ids of their ancestors stay well within SQLite's 32,766 parameters.
BATCH = 2000


def tree_fields(taxa: list[Taxon]) -> dict[int, dict[str, str]]:
    """{taxon id: the scientific name and rank fields of an organism filed under it}, read from the taxa's
    paths with one query for every ancestor of the batch. A rank the lineage skips is blank."""
    ancestor_ids = {pk for taxon in taxa for pk in taxon.ancestor_ids}
    ancestors = Taxon.objects.filter(pk__in=ancestor_ids).values_list("pk", "rank", "scientific_name")
    named = {pk: (rank, name) for pk, rank, name in ancestors} if ancestor_ids else {}
    fields = {}
    for taxon in taxa:
        names = dict(named[pk] for pk in taxon.ancestor_ids if pk in named)  # rank -> name: a rank occurs once
        ranks = {field: names.get(rank, "") for field, rank in FIELD_RANKS.items()}
        fields[taxon.pk] = {"scientific_name": taxon.scientific_name, **ranks}
    return fields


def validate_organism_taxon(taxon: Taxon, *, organism: Organism | None = None) -> None:
    """Whether `organism` may be filed under `taxon` (for forms and serializers to show first). The published
    record is about one accepted species, subspecies or variety: under a genus, or a synonym, its ranks would
    not be the tree's; without a kingdom above it, it could not be saved."""
    if taxon.status != TaxonomicStatus.ACCEPTED:
        accepted = taxon.accepted
        raise ValidationError(
            {"taxon": f"{taxon.scientific_name} is a synonym of {accepted.scientific_name} (taxon {accepted.pk}): "
                      "file the organism under the accepted name."}
        )  # fmt: skip
    if taxon.rank not in ORGANISM_RANKS:
        raise ValidationError(
            {"taxon": f"{taxon.scientific_name} is a {taxon.rank}: an organism belongs to a species, subspecies "
                      "or variety."}
        )  # fmt: skip
    if not Taxon.objects.filter(pk__in=taxon.ancestor_ids, rank=TaxonRank.KINGDOM).exists():
        raise ValidationError({"taxon": f"{taxon.scientific_name} has no kingdom above it in the tree."})
    namesakes = Organism.objects.filter(scientific_name=taxon.scientific_name)
    other = (namesakes.exclude(pk=organism.pk) if organism is not None and organism.pk else namesakes).first()
    if other is not None:
        raise ValidationError({"taxon": f"{other} is this taxon's record already."})


def file_under(organism: Organism, taxon: Taxon) -> None:
    """Give `organism` (in memory; the caller saves it) `taxon`, and the scientific name and ranks with it."""
    validate_organism_taxon(taxon, organism=organism)
    organism.taxon = taxon
    for name, value in tree_fields([taxon])[taxon.pk].items():
        setattr(organism, name, value)


def refuse_fields_from_the_taxon(fields: dict) -> None:
    """A write that names the taxon names nothing the taxon decides: which of the two was meant?"""
    given = [name for name in FIELDS_FROM_THE_TAXON if name in fields]
    if given:
        raise ValidationError(dict.fromkeys(given, FROM_THE_TAXON))


def copy_from_the_tree(organisms: list[Organism]) -> None:
    """Make each organism's (its taxon loaded) scientific name and rank fields its taxon's, in memory and in the
    database: per column, one executemany of the rows that differ, and one UPDATE of their `updated_at`."""
    computed = tree_fields([organism.taxon for organism in organisms])
    changes: dict[str, list[tuple[str, int]]] = {name: [] for name in FIELDS_FROM_THE_TAXON}
    changed = []
    for organism in organisms:
        tree_has = computed[organism.taxon_id]
        differ = {name: value for name, value in tree_has.items() if getattr(organism, name) != value}
        for name, value in differ.items():
            setattr(organism, name, value)
            changes[name].append((value, organism.pk))
        if differ:
            changed.append(organism)
    _refuse_taken_names(changes["scientific_name"])
    for name, rows in changes.items():
        set_column(Organism, name, rows)
    now = timezone.now()
    Organism.objects.filter(pk__in=[organism.pk for organism in changed]).update(updated_at=now)
    for organism in changed:
        organism.updated_at = now


def copy_into_organisms_beneath(path: str) -> None:
    """After a move, a rename or a new rank: every organism at or beneath the taxon at `path` takes its lineage
    again, a batch at a time, its row locked against an edit of the same record meanwhile."""
    beneath = Organism.objects.filter(taxon__path__startswith=path).order_by("pk")
    ids = list(beneath.values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        batch = (
            Organism.objects.filter(pk__in=ids[start : start + BATCH])
            .select_related("taxon")
            .select_for_update(of=("self",))
            .only("taxon", "taxon__path", "taxon__scientific_name", *FIELDS_FROM_THE_TAXON)
        )
        copy_from_the_tree(list(batch))


def _refuse_taken_names(renamed: list[tuple[str, int]]) -> None:
    """Scientific names of organisms are unique: a name the tree gives one record that another has already is
    refused, rather than left to the constraint's IntegrityError."""
    if not renamed:
        return
    names = [name for name, _ in renamed]
    others = Organism.objects.filter(scientific_name__in=names).exclude(pk__in=[pk for _, pk in renamed])
    taken = others.values_list("scientific_name", flat=True).first()
    taken = taken or next((name for name, count in Counter(names).items() if count > 1), None)
    if taken:
        raise ValidationError({"scientific_name": f"Another organism is named {taken} already."})
