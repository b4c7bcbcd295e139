"""Writes of many rows at once, where Django's own are slow for the shape at hand."""

from django.db import connections, models, router

from .revisions import record_bulk


def set_column(
    model: type[models.Model], field: str, values: list[tuple[object, object]], *, record: bool = True
) -> None:
    """`UPDATE table SET column = value WHERE pk = key` for each (value, key), as one executemany.

    bulk_update builds one CASE expression over every row, which costs seconds per thousand rows to compile;
    this costs what the database takes. No signals are sent, as with bulk_update: the caller invalidates."""
    set_columns(model, (field,), values, record=record)


def set_columns(model: type[models.Model], fields: tuple[str, ...], rows: list[tuple], *, record: bool = True) -> None:
    """`UPDATE table SET a = %s, b = %s WHERE pk = key` for each (a's value, b's value, ..., key), as one
    executemany: a row that changes in several columns is written once, which matters on a table with many
    indexes (each new version of a row updates every one of them). Values are prepared by their fields, as a
    save prepares them (a datetime for SQLite, say). No signals are sent: the caller invalidates."""
    if not rows:
        return
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    prepared = [
        (*(column.get_db_prep_save(value, connection) for column, value in zip(columns, values, strict=True)), key)
        for *values, key in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {key} = %s", prepared)
    if record:  # no signals, so no revisions: made here (`record=False`: the caller records the rows itself)
        record_bulk(model, [key for *_, key in rows])
