"""Every organism into the taxon tree, from the rank fields it has always had; its common name becomes its
preferred English vernacular name.

Nothing is lost or changed on the organisms (slug, names and rank fields stay as they are); only `taxon` is
set. Rerunnable: taxa that exist are reused, organisms that have a taxon are left alone, a vernacular name
that exists is not added twice. Batches of organisms, and per batch one INSERT per level of the tree, so
100,000 rows take seconds. Self-contained on purpose: a migration must do tomorrow what it does today,
whatever the app's code becomes.
"""

from django.db import migrations

BATCH = 2000
RANK_FIELDS = (
    ("kingdom", "kingdom"),
    ("phylum", "phylum"),
    ("class_name", "class"),
    ("order_name", "order"),
    ("family", "family"),
    ("genus", "genus"),
)


def lineage(organism) -> list[tuple[str, str]]:
    ranks = [(rank, getattr(organism, field).strip()) for field, rank in RANK_FIELDS]
    ranks = [(rank, name) for rank, name in ranks if name]
    words = organism.scientific_name.split()
    if len(words) >= 3:  # a trinomial: the species, then the subspecies or variety beneath it
        ranks.append(("species", " ".join(words[:2])))
        ranks.append(("variety" if words[2] in ("var.", "var") else "subspecies", " ".join(words)))
    else:
        ranks.append(("species", organism.scientific_name))
    return ranks


def set_column(schema_editor, model, column: str, values: list[tuple]) -> None:
    """UPDATE ... SET column = value WHERE id = pk for each (value, pk), as one executemany (bulk_update's
    CASE expressions cost seconds per thousand rows to build)."""
    quote = schema_editor.connection.ops.quote_name
    sql = f"UPDATE {quote(model._meta.db_table)} SET {quote(column)} = %s WHERE {quote('id')} = %s"
    with schema_editor.connection.cursor() as cursor:
        cursor.executemany(sql, values)


def organisms_into_the_tree(apps, schema_editor):
    Organism = apps.get_model("organisms", "Organism")
    Taxon = apps.get_model("organisms", "Taxon")
    VernacularName = apps.get_model("organisms", "VernacularName")
    known = {
        (taxon.parent_id, taxon.rank, taxon.scientific_name): taxon for taxon in Taxon.objects.filter(status="accepted")
    }
    last = 0
    while organisms := list(Organism.objects.filter(taxon__isnull=True, pk__gt=last).order_by("pk")[:BATCH]):
        last = organisms[-1].pk
        lineages = [lineage(organism) for organism in organisms]
        parents = [None] * len(organisms)
        for level in range(max(map(len, lineages))):
            keys = [
                (parent.pk if parent else None, *names[level]) if level < len(names) else None
                for parent, names in zip(parents, lineages, strict=True)
            ]
            missing = {}
            for parent, key in zip(parents, keys, strict=True):
                if key is not None and key not in known and key not in missing:
                    depth = parent.depth + 1 if parent else 0
                    missing[key] = Taxon(parent=parent, rank=key[1], scientific_name=key[2], path="", depth=depth)
            if missing:
                created = Taxon.objects.bulk_create(list(missing.values()))
                for taxon in created:
                    taxon.path = f"{taxon.parent.path if taxon.parent else '/'}{taxon.pk}/"
                set_column(schema_editor, Taxon, "path", [(taxon.path, taxon.pk) for taxon in created])
                known.update(missing)
            parents = [known[key] if key is not None else parent for parent, key in zip(parents, keys, strict=True)]
        for organism, taxon in zip(organisms, parents, strict=True):
            organism.taxon_id = taxon.pk
        set_column(schema_editor, Organism, "taxon_id", [(organism.taxon_id, organism.pk) for organism in organisms])
        VernacularName.objects.bulk_create(
            [
                VernacularName(taxon_id=organism.taxon_id, name=organism.common_name, language="en", preferred=True)
                for organism in organisms
                if organism.common_name.strip()
            ],
            ignore_conflicts=True,  # a rerun, or a name a curator already gave: kept as it is
        )


def out_of_the_tree(apps, schema_editor):
    Organism = apps.get_model("organisms", "Organism")
    Taxon = apps.get_model("organisms", "Taxon")
    VernacularName = apps.get_model("organisms", "VernacularName")
    Organism.objects.update(taxon=None)
    VernacularName.objects.all().delete()
    Taxon.objects.filter(status="synonym").delete()
    for depth in sorted(set(Taxon.objects.values_list("depth", flat=True)), reverse=True):
        Taxon.objects.filter(depth=depth).delete()  # leaves first: a parent is protected while it has children


class Migration(migrations.Migration):
    dependencies = [("organisms", "0005_taxon_tree")]

    operations = [migrations.RunPython(organisms_into_the_tree, out_of_the_tree, elidable=False)]
