"""Folded names (biomuseum.textfold) for search and autocomplete over every name of a taxon: its scientific
name, its synonyms' and its vernacular names in every language, accent- and case-insensitively.

Vernacular names' language tags are validated (BCP 47). Existing rows are folded in batches (one executemany per batch). On PostgreSQL three more indexes per table:
`search_name COLLATE "C"`, which turns a prefix LIKE into a range read in order (see 0004); the words of
the name (a `simple` tsvector), which finds word starts among 300,000 names in a millisecond however common
the word; and trigrams, for the list's search anywhere in a name (`LIKE '%text%'`, see 0002).

The folding is the app's own function, not a copy: a later change to it must come with a migration that
folds the rows again, whichever way this one is written.
"""

from django.db import migrations, models

import organisms.models
from biomuseum.textfold import fold

BATCH = 5000
TABLES = {"taxon": "scientific_name", "vernacularname": "name"}


def fold_existing(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    for model_name, name_field in TABLES.items():
        model = apps.get_model("organisms", model_name)
        sql = f"UPDATE {quote(model._meta.db_table)} SET {quote('search_name')} = %s WHERE {quote('id')} = %s"
        last = 0
        while rows := list(model.objects.filter(pk__gt=last).order_by("pk").values_list("pk", name_field)[:BATCH]):
            last = rows[-1][0]
            with schema_editor.connection.cursor() as cursor:
                cursor.executemany(sql, [(fold(name), pk) for pk, name in rows])


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for model_name in TABLES:
        table = f"organisms_{model_name}"
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {model_name}_search_prefix ON {table} (("search_name" COLLATE "C"))'
        )
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {model_name}_search_trgm ON {table} USING gin (("search_name"::text) gin_trgm_ops)'
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {model_name}_search_words ON {table} "
            "USING gin (to_tsvector('simple'::regconfig, \"search_name\"))"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {model_name}_search_prefix")
        schema_editor.execute(f"DROP INDEX IF EXISTS {model_name}_search_trgm")
        schema_editor.execute(f"DROP INDEX IF EXISTS {model_name}_search_words")


class Migration(migrations.Migration):
    dependencies = [("organisms", "0006_organisms_into_the_tree")]

    operations = [
        migrations.AddField(
            model_name="taxon",
            name="search_name",
            field=models.CharField(db_index=True, default="", editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="vernacularname",
            name="search_name",
            field=models.CharField(db_index=True, default="", editable=False, max_length=200),
        ),
        migrations.AlterField(
            model_name="vernacularname",
            name="language",
            field=models.CharField(
                help_text="A BCP 47 language tag: en, pt-BR, zh-Hant.",
                max_length=35,
                validators=[organisms.models.validate_language_tag],
            ),
        ),
        migrations.RunPython(fold_existing, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
