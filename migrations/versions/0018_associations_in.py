"""Associations read from the provider: crm_associations (one row per association type between two of a
connection's records, by provider ids), each run's count of associations added and removed, and each
reconciliation's count of records whose associations differ (link_drift)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 10:40:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table(
        'crm_associations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('from_type', sa.String(length=40), nullable=False),
        sa.Column('from_id', sa.String(length=64), nullable=False),
        sa.Column('to_type', sa.String(length=40), nullable=False),
        sa.Column('to_id', sa.String(length=64), nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('type_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=True),
        sa.Column('updated_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
        sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('connection_id', 'from_type', 'from_id', 'to_type', 'to_id', 'category', 'type_id',
                            name='uq_crm_associations_link'),
    )
    op.create_index('ix_crm_associations_to', 'crm_associations', ['connection_id', 'to_type', 'to_id'])
    with op.batch_alter_table('integration_sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('links_added', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('links_removed', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('integration_reconciliations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_drift', sa.Integer(), nullable=False, server_default='0'))


def downgrade_():
    with op.batch_alter_table('integration_reconciliations', schema=None) as batch_op:
        batch_op.drop_column('link_drift')
    with op.batch_alter_table('integration_sync_runs', schema=None) as batch_op:
        batch_op.drop_column('links_removed')
        batch_op.drop_column('links_added')
    op.drop_index('ix_crm_associations_to', table_name='crm_associations')
    op.drop_table('crm_associations')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
