"""One index for a connection's normalized events by kind and source reference, in place of
(source_kind, source_ref) and (connection_id, source_kind): SQLite chose the latter for each page's
check of the event keys it already holds, and read every event of the connection for every page

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    pass


def downgrade_():
    pass


def upgrade_traffic():
    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.create_index('ix_integration_normalized_events_connection_source',
                              ['connection_id', 'source_kind', 'source_ref'], unique=False)
        batch_op.drop_index('ix_integration_normalized_events_connection_kind')
        batch_op.drop_index('ix_integration_normalized_events_source')


def downgrade_traffic():
    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.create_index('ix_integration_normalized_events_source', ['source_kind', 'source_ref'], unique=False)
        batch_op.create_index('ix_integration_normalized_events_connection_kind', ['connection_id', 'source_kind'],
                              unique=False)
        batch_op.drop_index('ix_integration_normalized_events_connection_source')
