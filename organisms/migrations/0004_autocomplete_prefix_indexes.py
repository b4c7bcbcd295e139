"""Prefix indexes for autocomplete on PostgreSQL.

`organisms.selectors.organism_autocomplete` asks for names starting with the typed text, in order, ten at
a time: `(UPPER(name) COLLATE "C") LIKE 'PAN%' ORDER BY (UPPER(name) COLLATE "C") LIMIT 10`. With the "C"
collation PostgreSQL turns the LIKE into a range on these btree indexes and reads ten rows in order, however
many names share a two-letter prefix (the database's own collation may not be "C", and then a LIKE cannot
use an ordinary index). Other databases keep the portable one-query form and the plain indexes.
"""

from django.db import migrations

INDEXES = {
    "organism_common_prefix": "common_name",
    "organism_sci_prefix": "scientific_name",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON organisms_organism ((UPPER("{column}"::text) COLLATE "C"))'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("organisms", "0003_image_jobs")]
    operations = [migrations.RunPython(create, drop)]
