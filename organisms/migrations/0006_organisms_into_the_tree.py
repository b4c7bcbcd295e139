"""Every organism into the taxon tree, from the rank fields it has always had; its common name becomes its
preferred English vernacular name.

Nothing is lost or changed on the organisms (slug, names and rank fields stay as they are); only `taxon` is
set. Rerunnable: taxa that exist are reused, organisms that have a taxon are left alone, a vernacular name
that exists is not added twice. Self-contained on purpose: a migration must do tomorrow what it does today,
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


def organisms_into_the_tree(apps, schema_editor):
    Organism = apps.get_model("organisms", "Organism")
    Taxon = apps.get_model("organisms", "Taxon")
    VernacularName = apps.get_model("organisms", "VernacularName")
    known = {
        (parent_id, rank, name): (pk, path, depth)
        for pk, parent_id, rank, name, path, depth in Taxon.objects.filter(status="accepted").values_list(
            "pk", "parent_id", "rank", "scientific_name", "path", "depth"
        )
    }

    def node(parent, rank: str, name: str):
        key = (parent[0] if parent else None, rank, name)
        if key not in known:
            depth = parent[2] + 1 if parent else 0
            taxon = Taxon.objects.create(rank=rank, scientific_name=name, parent_id=key[0], path="", depth=depth)
            path = f"{parent[1] if parent else '/'}{taxon.pk}/"
            Taxon.objects.filter(pk=taxon.pk).update(path=path)
            known[key] = (taxon.pk, path, depth)
        return known[key]

    last = 0
    while True:
        organisms = list(Organism.objects.filter(taxon__isnull=True, pk__gt=last).order_by("pk")[:BATCH])
        if not organisms:
            return
        last = organisms[-1].pk
        for organism in organisms:
            parent = None
            for field, rank in RANK_FIELDS:
                value = getattr(organism, field).strip()
                if value:
                    parent = node(parent, rank, value)
            words = organism.scientific_name.split()
            if len(words) >= 3:  # a trinomial: the species, then the subspecies or variety beneath it
                parent = node(parent, "species", " ".join(words[:2]))
                rank = "variety" if words[2] in ("var.", "var") else "subspecies"
                organism.taxon_id = node(parent, rank, organism.scientific_name)[0]
            else:
                organism.taxon_id = node(parent, "species", organism.scientific_name)[0]
        Organism.objects.bulk_update(organisms, ["taxon"])
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
