"""Reconciliation compares values: records whose stored values differ from what the current mapping makes
of the provider's (value_drift), and records the console created that wait for their push (pending_push)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 03:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('integration_reconciliations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value_drift', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pending_push', sa.Integer(), nullable=False, server_default='0'))


def downgrade_():
    with op.batch_alter_table('integration_reconciliations', schema=None) as batch_op:
        batch_op.drop_column('pending_push')
        batch_op.drop_column('value_drift')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
