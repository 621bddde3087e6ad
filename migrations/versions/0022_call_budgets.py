"""One call budget per provider account and lane, shared by every process: the next free send slot on
the database's clock, the spacing learned from the provider's answers, and the daily budget; and
whether a run yielded between pages to other clients' waiting jobs

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 13:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table(
        'provider_call_budgets',
        sa.Column('key', sa.String(length=191), nullable=False),
        sa.Column('next_slot', sa.Double(), nullable=False),
        sa.Column('spacing_ms', sa.Double(), nullable=False),
        sa.Column('per_window', sa.Integer(), nullable=True),
        sa.Column('window_ms', sa.Integer(), nullable=True),
        sa.Column('daily_at', sa.Double(), nullable=True),
        sa.Column('daily_limit', sa.Integer(), nullable=True),
        sa.Column('daily_remaining', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )
    with op.batch_alter_table('integration_sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('yielded', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade_():
    with op.batch_alter_table('integration_sync_runs', schema=None) as batch_op:
        batch_op.drop_column('yielded')
    op.drop_table('provider_call_budgets')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
