"""An organism's place in the tree, copied onto its row.

The tree is the source of an organism's rank fields and scientific name. The six rank columns stay on the
organism as a denormalised copy, so list filters and list rows read them without joins; the writes here keep
the copy equal to the tree, in bulk, inside the transaction that changed the tree.
"""

from collections import Counter, defaultdict
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from biomuseum.bulk import set_columns
from biomuseum.revisions import record_bulk

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
        synonym = f"{taxon.scientific_name} is a synonym of {accepted.scientific_name} (taxon {accepted.pk})"
        raise ValidationError({"taxon": f"{synonym}: file the organism under the accepted name."})
    if taxon.rank not in ORGANISM_RANKS:
        too_high = f"{taxon.scientific_name} is a {taxon.rank}"
        raise ValidationError({"taxon": f"{too_high}: an organism belongs to a species, subspecies or variety."})
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
    database, `updated_at` with them; rows that already agree are not written."""
    computed = tree_fields([organism.taxon for organism in organisms])
    now = timezone.now()
    takers: dict[tuple[tuple[str, str], ...], list[int]] = defaultdict(list)  # new values -> organisms' ids
    renamed = []
    for organism in organisms:
        tree_has = computed[organism.taxon_id]
        differ = {name: value for name, value in tree_has.items() if getattr(organism, name) != value}
        if not differ:
            continue
        for name, value in differ.items():
            setattr(organism, name, value)
        organism.updated_at = now
        takers[tuple(differ.items())].append(organism.pk)
        if "scientific_name" in differ:
            renamed.append((organism.scientific_name, organism.pk))
    _refuse_taken_names(renamed)
    _write_new_values(takers, now)


def _write_new_values(takers: dict[tuple[tuple[str, str], ...], list[int]], now: datetime) -> None:
    """Organisms taking the same new values (all those beneath a moved or renamed taxon) in one UPDATE; the
    others one executemany per set of columns. Each row is written once, as a new version of a row updates
    all twenty of the table's indexes; and one statement for many rows, as PostgreSQL parses and plans each
    statement of an executemany on its own."""
    one_each: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
    for values, ids in takers.items():
        if len(ids) > 1:
            Organism.objects.filter(pk__in=ids).update(**dict(values), updated_at=now)
            record_bulk(Organism, ids)
        else:
            columns = tuple(name for name, _ in values)
            one_each[columns].append((*(value for _, value in values), now, ids[0]))
    for columns, rows in one_each.items():
        set_columns(Organism, (*columns, "updated_at"), rows)


def copy_into_organisms_beneath(path: str) -> None:
    """After a move, a rename or a new rank: every organism at or beneath the taxon at `path` takes its lineage
    again, a batch at a time, their rows locked against an edit of the same records meanwhile."""
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
