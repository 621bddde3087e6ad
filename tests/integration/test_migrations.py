"""The Alembic migrations build both databases from empty and agree with the models."""
from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from console.extensions import db

from ..conftest import build_app


def _diff(app) -> dict[str, list]:
    found = {}
    with app.app_context():
        for bind, metadata in db.metadatas.items():
            with db.engines[bind].connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                found[bind or "primary"] = compare_metadata(ctx, metadata)
    return found


def test_current_database_matches_models(app):
    """SQLite: the per-test copy of the migrated template; MySQL: the database CI migrated."""
    assert _diff(app) == {"primary": [], "traffic": []}


def test_expected_tables_exist_in_the_right_database(app):
    primary = set(sa.inspect(db.engines[None]).get_table_names())
    traffic = set(sa.inspect(db.engines["traffic"]).get_table_names())
    assert {"integration_raw_events", "integration_normalized_events", "event_webhook_events"} <= traffic
    assert not ({"integration_raw_events", "event_webhook_events"} & primary)
    for table in ("clients", "users", "integration_providers", "integration_provider_accounts",
                  "integration_connections", "connection_checklist_items", "integration_field_mappings",
                  "integration_enum_mappings", "integration_sync_jobs", "integration_sync_runs",
                  "integration_sync_errors", "crm_leads", "crm_lead_events", "automation_runs",
                  "metric_baselines", "metric_snapshots", "report_notes", "monitor_alerts",
                  "event_admin_actions"):
        assert table in primary, table


@pytest.mark.parametrize("table,columns", [
    ("crm_leads", {"connection_id", "object_type", "external_id"}),
    ("event_webhook_events", {"provider", "source_event_id"}),
    ("integration_raw_events", {"connection_id", "event_key"}),
])
def test_idempotency_keys_are_unique(app, table, columns):
    bind = None if table == "crm_leads" else "traffic"
    uniques = sa.inspect(db.engines[bind]).get_unique_constraints(table)
    assert any(set(u["column_names"]) == columns for u in uniques), uniques


def test_upgrade_from_empty(tmp_path):
    """Build both databases from nothing with `flask db upgrade`, then compare with the models."""
    from console.extensions import upgrade

    admin_url = os.environ.get("TEST_ADMIN_DATABASE_URL")
    if os.environ.get("TEST_DATABASE_URL") and not admin_url:
        pytest.skip("MySQL run without TEST_ADMIN_DATABASE_URL: the runtime user cannot create databases")
    if admin_url:
        primary = admin_url
        traffic = re.sub(r"/(\w+)(\?|$)", r"/\1_traffic\2", admin_url)
        server = sa.create_engine(re.sub(r"/\w+(\?|$)", r"/\1", admin_url))
        with server.begin() as conn:
            for url in (primary, traffic):
                name = sa.engine.make_url(url).database
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
                conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    else:
        primary, traffic = f"sqlite:///{tmp_path}/p.db", f"sqlite:///{tmp_path}/t.db"
    app = build_app(tmp_path, primary, traffic)
    try:
        with app.app_context():
            upgrade()
        assert _diff(app) == {"primary": [], "traffic": []}
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
        if admin_url:
            with server.begin() as conn:
                for url in (primary, traffic):
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{sa.engine.make_url(url).database}`"))
            server.dispose()
