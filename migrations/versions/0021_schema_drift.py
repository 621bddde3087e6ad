"""Schema drift: each connection's last-seen provider schema per object type, the changes runs and the
daily check find in it (breaking or harmless), the connection's drift policy (pause or fail), and why a
sync job is held by it

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 10:50:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

DT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table(
        'integration_schema_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(length=40), nullable=False),
        sa.Column('properties', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
        sa.Column('taken_at', DT, nullable=False),
        sa.Column('checked_at', DT, nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('connection_id', 'object_type'),
    )
    op.create_table(
        'integration_schema_drift',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(length=40), nullable=False),
        sa.Column('property', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.String(length=500), nullable=False),
        sa.Column('option_value', sa.String(length=200), nullable=True),
        sa.Column('breaking', sa.Boolean(), nullable=False),
        sa.Column('found_by', sa.String(length=40), nullable=False),
        sa.Column('resolved_at', DT, nullable=True),
        sa.Column('created_at', DT, nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_integration_schema_drift_open', 'integration_schema_drift', ['connection_id', 'resolved_at'])
    with op.batch_alter_table('integration_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drift_policy', sa.String(length=8), nullable=False, server_default='pause'))
    with op.batch_alter_table('integration_sync_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_reason', sa.String(length=500), nullable=True))


def downgrade_():
    with op.batch_alter_table('integration_sync_jobs', schema=None) as batch_op:
        batch_op.drop_column('paused_reason')
    with op.batch_alter_table('integration_connections', schema=None) as batch_op:
        batch_op.drop_column('drift_policy')
    op.drop_index('ix_integration_schema_drift_open', table_name='integration_schema_drift')
    op.drop_table('integration_schema_drift')
    op.drop_table('integration_schema_snapshots')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
