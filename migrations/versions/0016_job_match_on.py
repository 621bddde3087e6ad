"""What a sync job's records created from the console are matched on in the CRM (the intake's matching
rules): integration_sync_jobs.match_on

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('integration_sync_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_on', sa.String(length=120), nullable=True))


def downgrade_():
    with op.batch_alter_table('integration_sync_jobs', schema=None) as batch_op:
        batch_op.drop_column('match_on')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
