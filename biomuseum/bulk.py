"""Writes of many rows at once, where Django's own are slow for the shape at hand."""

from django.db import connections, models, router


def set_column(model: type[models.Model], field: str, values: list[tuple[object, object]]) -> None:
    """`UPDATE table SET column = value WHERE pk = key` for each (value, key), as one executemany.

    bulk_update builds one CASE expression over every row, which costs seconds per thousand rows to compile;
    this costs what the database takes. No signals are sent, as with bulk_update: the caller invalidates."""
    if not values:
        return
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    column = model._meta.get_field(field).column
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {quote(column)} = %s WHERE {key} = %s", values)
