"""Monitoring: freshness lag, daily rate-limit budget, data-quality checks, alert open key, thresholds,
indexes for the ops dashboard

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()

def upgrade_():
    op.create_table('data_quality_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('incomplete', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('unresolved', sa.Integer(), nullable=False),
    sa.Column('details', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id'], name=op.f('fk_data_quality_checks_connection_id_integration_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_quality_checks'))
    )
    with op.batch_alter_table('data_quality_checks', schema=None) as batch_op:
        batch_op.create_index('ix_data_quality_checks_connection_object', ['connection_id', 'object_type', 'id'], unique=False)

    with op.batch_alter_table('integration_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_event_pct', sa.Integer(), server_default='20', nullable=False))
        batch_op.add_column(sa.Column('freshness_target_seconds', sa.Integer(), server_default='300', nullable=False))
        batch_op.add_column(sa.Column('freshness_objective_pct', sa.Integer(), server_default='99', nullable=False))
        batch_op.add_column(sa.Column('quality_completeness_pct', sa.Integer(), server_default='95', nullable=False))
        batch_op.add_column(sa.Column('quality_duplicate_pct', sa.Integer(), server_default='5', nullable=False))
        batch_op.add_column(sa.Column('quality_unresolved_pct', sa.Integer(), server_default='2', nullable=False))

    with op.batch_alter_table('integration_provider_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_limit_daily', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rate_limit_daily_remaining', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rate_limit_observed_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True))

    with op.batch_alter_table('integration_sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_integration_sync_runs_connection_dry_run_id', ['connection_id', 'dry_run', 'id'], unique=False)

    with op.batch_alter_table('monitor_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_key', sa.String(length=80), nullable=True))
        batch_op.alter_column('kind',
               existing_type=sa.VARCHAR(length=40),
               type_=sa.String(length=60),
               existing_nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_monitor_alerts_open_key'), ['open_key'])



def downgrade_():
    with op.batch_alter_table('monitor_alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_monitor_alerts_open_key'), type_='unique')
        batch_op.alter_column('kind',
               existing_type=sa.String(length=60),
               type_=sa.VARCHAR(length=40),
               existing_nullable=False)
        batch_op.drop_column('open_key')

    with op.batch_alter_table('integration_sync_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_sync_runs_connection_dry_run_id')

    with op.batch_alter_table('integration_provider_accounts', schema=None) as batch_op:
        batch_op.drop_column('rate_limit_observed_at')
        batch_op.drop_column('rate_limit_daily_remaining')
        batch_op.drop_column('rate_limit_daily')

    with op.batch_alter_table('integration_connections', schema=None) as batch_op:
        batch_op.drop_column('quality_unresolved_pct')
        batch_op.drop_column('quality_duplicate_pct')
        batch_op.drop_column('quality_completeness_pct')
        batch_op.drop_column('freshness_objective_pct')
        batch_op.drop_column('freshness_target_seconds')
        batch_op.drop_column('duplicate_event_pct')

    with op.batch_alter_table('data_quality_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_data_quality_checks_connection_object')

    op.drop_table('data_quality_checks')


def upgrade_traffic():
    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lag_ms', sa.BigInteger(), nullable=True))
        batch_op.drop_index('ix_integration_normalized_events_connection_created')
        batch_op.create_index('ix_integration_normalized_events_connection_created_lag', ['connection_id', 'created_at', 'lag_ms'], unique=False)



def downgrade_traffic():
    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_normalized_events_connection_created_lag')
        batch_op.create_index('ix_integration_normalized_events_connection_created', ['connection_id', 'created_at'], unique=False)
        batch_op.drop_column('lag_ms')


