"""Sync fidelity: run heartbeats (the sweep closes runs whose process died), reconciliations and the
scheduled reconcile's claim on each job

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()

def upgrade_():
    op.create_table('integration_reconciliations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('repair', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=True),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.Column('started_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.Column('finished_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.Column('in_flight_since', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.Column('provider_active', sa.Integer(), nullable=False),
    sa.Column('provider_archived', sa.Integer(), nullable=False),
    sa.Column('stored_active', sa.Integer(), nullable=False),
    sa.Column('stored_archived', sa.Integer(), nullable=False),
    sa.Column('missing', sa.Integer(), nullable=False),
    sa.Column('extra', sa.Integer(), nullable=False),
    sa.Column('stale', sa.Integer(), nullable=False),
    sa.Column('wrongly_archived', sa.Integer(), nullable=False),
    sa.Column('failing', sa.Integer(), nullable=False),
    sa.Column('ignored', sa.Integer(), nullable=False),
    sa.Column('in_flight', sa.Integer(), nullable=False),
    sa.Column('repaired', sa.Integer(), nullable=True),
    sa.Column('repair_run_id', sa.Integer(), nullable=True),
    sa.Column('examples', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('error_message', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id'], name=op.f('fk_integration_reconciliations_connection_id_integration_connections')),
    sa.ForeignKeyConstraint(['repair_run_id'], ['integration_sync_runs.id'], name=op.f('fk_integration_reconciliations_repair_run_id_integration_sync_runs')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['users.id'], name=op.f('fk_integration_reconciliations_requested_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_reconciliations'))
    )
    with op.batch_alter_table('integration_reconciliations', schema=None) as batch_op:
        batch_op.create_index('ix_integration_reconciliations_connection_type_id', ['connection_id', 'object_type', 'id'], unique=False)
        batch_op.create_index('ix_integration_reconciliations_status', ['status'], unique=False)

    with op.batch_alter_table('integration_sync_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reconcile_next_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True))

    with op.batch_alter_table('integration_sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True))



def downgrade_():
    with op.batch_alter_table('integration_sync_runs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')

    with op.batch_alter_table('integration_sync_jobs', schema=None) as batch_op:
        batch_op.drop_column('reconcile_next_at')

    with op.batch_alter_table('integration_reconciliations', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_reconciliations_status')
        batch_op.drop_index('ix_integration_reconciliations_connection_type_id')

    op.drop_table('integration_reconciliations')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass

