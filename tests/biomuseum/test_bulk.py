"""biomuseum/bulk.py: columns of many rows, each its own value."""

import pytest

from biomuseum.bulk import set_column, set_columns
from organisms.models import Organism
from organisms.services import place_in_tree
from tests.factories import OrganismFactory

pytestmark = pytest.mark.django_db


def test_set_column_writes_each_row_its_own_value_and_nothing_else():
    rows = OrganismFactory.create_batch(5)
    untouched = OrganismFactory(habitat="kept")
    set_column(Organism, "habitat", [(f"habitat {row.pk}", row.pk) for row in rows])
    assert dict(Organism.objects.values_list("pk", "habitat")) == {
        **{row.pk: f"habitat {row.pk}" for row in rows},
        untouched.pk: "kept",
    }


def test_set_column_names_a_foreign_key_by_its_field():
    a, b = OrganismFactory(), OrganismFactory()
    place_in_tree([a])
    set_column(Organism, "taxon", [(a.taxon_id, b.pk)])
    b.refresh_from_db()
    assert b.taxon_id == a.taxon_id


def test_set_column_with_nothing_to_write_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        set_column(Organism, "habitat", [])


def test_set_columns_writes_several_columns_of_each_row_in_one_statement_per_row(django_assert_num_queries):
    from django.utils import timezone

    rows = OrganismFactory.create_batch(3)
    when = timezone.now() - timezone.timedelta(days=3)
    with django_assert_num_queries(3):  # one executemany; the revisions: the rows read back, one insert
        set_columns(Organism, ("habitat", "updated_at"), [(f"habitat {row.pk}", when, row.pk) for row in rows])
    assert {(row.habitat, row.updated_at) for row in Organism.objects.all()} == {
        (f"habitat {row.pk}", when) for row in rows
    }
    for row in rows:  # bulk writes send no signals: set_columns records the revisions itself
        latest = row.history.latest()
        assert (latest.history_type, latest.habitat) == ("~", f"habitat {row.pk}")
