"""Trust boundaries: one CSV import per (connection, object type, file); webhooks v3-only per account
(new accounts; existing ones keep accepting v1/v2 until an owner turns that off)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:40:31.029427

"""
from alembic import op
import sqlalchemy as sa




# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()

def upgrade_():
    duplicates = op.get_bind().execute(sa.text(
        "SELECT COUNT(*) FROM (SELECT connection_id FROM csv_imports GROUP BY connection_id, object_type, file_hash "
        "HAVING COUNT(*) > 1) d")).scalar()
    if duplicates:
        raise RuntimeError(f"csv_imports holds {duplicates} files imported twice for one object type; "
                           "keep one import of each before upgrading.")
    # The unique constraint starts with connection_id, so MySQL keeps an index for the foreign key.
    with op.batch_alter_table('csv_imports', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_csv_imports_connection_id_object_type_file_hash'), ['connection_id', 'object_type', 'file_hash'])
    with op.batch_alter_table('csv_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_csv_imports_connection_hash'))

    with op.batch_alter_table('integration_provider_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_v3_only', sa.Boolean(), server_default=sa.text('1'), nullable=False))
    op.execute("UPDATE integration_provider_accounts SET webhook_v3_only = 0")  # existing apps may sign v1/v2



def downgrade_():
    with op.batch_alter_table('integration_provider_accounts', schema=None) as batch_op:
        batch_op.drop_column('webhook_v3_only')

    with op.batch_alter_table('csv_imports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_csv_imports_connection_id_object_type_file_hash'), type_='unique')
        batch_op.create_index(batch_op.f('ix_csv_imports_connection_hash'), ['connection_id', 'file_hash'], unique=False)



def upgrade_traffic():
    pass


def downgrade_traffic():
    pass

