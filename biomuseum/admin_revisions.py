"""The admin's revisions of a record: its history with each change field by field, and revert.

simple-history's history view lists every revision with the fields it changed; a revision opens as the
record's form filled with that version, and saving it reverts (through the ModelAdmin's save_model, so
through the same services as any edit). Here the revert is one transaction, so it is one cache invalidation
and one new revision, and each revision says through what it was made.
"""

from django.db import transaction
from simple_history import utils
from simple_history.admin import SimpleHistoryAdmin


class RevisionsAdmin(SimpleHistoryAdmin):
    history_list_display = ["through"]
    history_list_per_page = 50

    def through(self, record) -> str:
        return record.history_via

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        # A link that was empty shows as empty, not as simple-history's "Deleted taxon (pk=None)".
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs=False)

    def get_form(self, request, obj=None, **kwargs):
        """A revision's form shows the links (tags, related organisms) the revision had, not today's."""
        form = super().get_form(request, obj, **kwargs)
        revision = getattr(obj, "_history", None)  # simple-history marks an instance made from a revision
        if revision is None or not revision._history_m2m_fields:
            return form
        links = {field.name: _linked_pks(revision, field) for field in revision._history_m2m_fields}

        class RevisionForm(form):
            def __init__(self, *args, **options):
                options["initial"] = {**links, **(options.get("initial") or {})}
                super().__init__(*args, **options)

        return RevisionForm

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        with transaction.atomic():
            return super().history_form_view(request, object_id, version_id, extra_context)


def _linked_pks(revision, field) -> list:
    target = utils.get_m2m_reverse_field_name(field)
    return list(getattr(revision, field.name).values_list(f"{target}_id", flat=True))
