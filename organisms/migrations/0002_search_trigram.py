"""Trigram indexes for substring search on PostgreSQL.

Django's `icontains`/`istartswith` become `UPPER(col::text) LIKE UPPER(...)`; GIN trigram
indexes on exactly those expressions let PostgreSQL answer them without scanning the table.
Other databases keep the portable query and the plain indexes.
"""

from django.db import migrations

INDEXES = {
    "organism_common_trgm": "common_name",
    "organism_sci_trgm": "scientific_name",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON organisms_organism USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("organisms", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
