"""Migrating the test database to an earlier state and back. Going back to an app's migration also unapplies
the later migrations of other apps that depend on it, so "back" is always every app's latest migration."""

from django.apps import apps as installed
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(*targets: tuple[str, str]):
    """To `targets` (app, migration), or, with none, to every app's latest migration; the historical apps of
    the state reached."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    plan = list(targets) or executor.loader.graph.leaf_nodes()
    executor.migrate(plan)
    return executor.loader.project_state(plan).apps if targets else installed


def latest(app: str) -> tuple[str, str]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes(app)[0]
