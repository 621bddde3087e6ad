"""Launch wizard: the connection's docs link and notification target; test-batch outcomes per run

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table("integration_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify_target", sa.String(length=500), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("docs_url", sa.String(length=500), nullable=False, server_default=""))
    with op.batch_alter_table("integration_sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcomes", sa.Text().with_variant(mysql.LONGTEXT(), "mysql"), nullable=True))


def downgrade_():
    with op.batch_alter_table("integration_sync_runs", schema=None) as batch_op:
        batch_op.drop_column("outcomes")
    with op.batch_alter_table("integration_connections", schema=None) as batch_op:
        batch_op.drop_column("docs_url")
        batch_op.drop_column("notify_target")


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
