"""CSV imports keep their whole-file check (counts per outcome, the first rows, the rows with problems)
so the summary and the Import button survive a reload; sync errors keep the field and the offending value
(masked for a sensitive field) for triage; user invitations (single use, expiring) instead of initial passwords; maintenance tasks (the
nightly retention pass, claimed with a lease); uploaded files in chunks in the traffic database

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 08:30:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table('maintenance_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('next_run_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('lease_owner', sa.String(length=120), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.Column('last_started_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.Column('last_finished_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.Column('last_result', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_tasks')),
    sa.UniqueConstraint('name', name=op.f('uq_maintenance_tasks_name'))
    )
    op.create_table('user_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('used_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.Column('revoked_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_user_invitations_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_invitations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_invitations_token_hash'))
    )
    with op.batch_alter_table('user_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_invitations_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('csv_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True))
    with op.batch_alter_table('integration_sync_errors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('value', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_integration_sync_errors_group', ['status', 'connection_id', 'object_type', 'code'])


def downgrade_():
    op.drop_table('maintenance_tasks')
    op.drop_table('user_invitations')
    with op.batch_alter_table('integration_sync_errors', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_sync_errors_group')
        batch_op.drop_column('value')
        batch_op.drop_column('field')
    with op.batch_alter_table('csv_imports', schema=None) as batch_op:
        batch_op.drop_column('checked')


def upgrade_traffic():
    op.create_table('upload_chunks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('upload_key', sa.String(length=120), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mysql'), nullable=False),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_chunks')),
    sa.UniqueConstraint('upload_key', 'seq', name=op.f('uq_upload_chunks_upload_key_seq'))
    )


def downgrade_traffic():
    op.drop_table('upload_chunks')
