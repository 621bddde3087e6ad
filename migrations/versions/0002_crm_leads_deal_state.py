"""crm_leads.deal_state: open | won | lost, from the provider's stage metadata (open pipeline metrics)

Revision ID: 0002
Revises: 8769772d2c99
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "8769772d2c99"
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deal_state", sa.String(length=8), nullable=True))


def downgrade_():
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.drop_column("deal_state")


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
