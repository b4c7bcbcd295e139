"""What only PostgreSQL has: the connection pool and trigram search indexes.

These run when the suite runs against PostgreSQL (DATABASE_URL), as CI's second pass does.
"""

import pytest
from django.db import connection

from organisms import selectors
from organisms.models import Organism
from tests.conftest import require_postgresql
from tests.factories import OrganismFactory

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgresql(connection)


def test_postgres_uses_native_pool():
    from psycopg_pool import ConnectionPool

    assert isinstance(connection.pool, ConnectionPool)
    stats = connection.pool.get_stats()
    assert stats["pool_max"] >= 2


def test_postgres_search_uses_trigram_index():
    OrganismFactory.create_batch(30)
    OrganismFactory(common_name="Snow leopard", scientific_name="Panthera uncia")
    assert [o.common_name for o in selectors.organism_list(search="leopard")] == ["Snow leopard"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # leave the planner only bitmap scans of the GIN index
        plan = Organism.objects.filter(common_name__icontains="leopard").explain()
    assert "organism_common_trgm" in plan


def test_postgres_deep_cursor_uses_index_not_offset():
    queryset = selectors.organism_list().filter(scientific_name__gt="M").order_by("scientific_name")[:21]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "Index" in plan
    assert "OFFSET" not in str(queryset.query).upper()
