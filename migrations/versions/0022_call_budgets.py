"""One call budget per provider account and lane, shared by every process: the send slots of the last
window on the database's clock, how many a window may hold (learned from the provider's answers), a hold
after a refusal, and the daily budget; and whether a run yielded between pages to other clients' jobs

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
        sa.Column('sent', sa.Text(), nullable=False),
        sa.Column('allowed', sa.Integer(), nullable=True),
        sa.Column('window_ms', sa.Integer(), nullable=True),
        sa.Column('held_until', sa.Double(), nullable=False),
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
