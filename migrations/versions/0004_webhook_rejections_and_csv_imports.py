"""Webhook rejections (traffic) and manual CSV imports with saved mapping templates (primary)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table('csv_import_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('columns', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('mapping', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id'], name=op.f('fk_csv_import_templates_connection_id_integration_connections')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_csv_import_templates_created_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csv_import_templates')),
    sa.UniqueConstraint('connection_id', 'name', name=op.f('uq_csv_import_templates_connection_id_name'))
    )
    op.create_table('csv_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_hash', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=False),
    sa.Column('delimiter', sa.String(length=4), nullable=False),
    sa.Column('header', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('mapping', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('duplicate_uploads', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=1000), nullable=True),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id'], name=op.f('fk_csv_imports_connection_id_integration_connections')),
    sa.ForeignKeyConstraint(['run_id'], ['integration_sync_runs.id'], name=op.f('fk_csv_imports_run_id_integration_sync_runs')),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['users.id'], name=op.f('fk_csv_imports_uploaded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csv_imports'))
    )
    with op.batch_alter_table('csv_imports', schema=None) as batch_op:
        batch_op.create_index('ix_csv_imports_connection_hash', ['connection_id', 'file_hash'], unique=False)


def downgrade_():
    with op.batch_alter_table('csv_imports', schema=None) as batch_op:
        batch_op.drop_index('ix_csv_imports_connection_hash')

    op.drop_table('csv_imports')
    op.drop_table('csv_import_templates')


def upgrade_traffic():
    op.create_table('webhook_rejections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('signature_version', sa.String(length=4), nullable=True),
    sa.Column('body_bytes', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_rejections'))
    )
    with op.batch_alter_table('webhook_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_rejections_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index('ix_webhook_rejections_provider_created', ['provider', 'created_at'], unique=False)


def downgrade_traffic():
    with op.batch_alter_table('webhook_rejections', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_rejections_provider_created')
        batch_op.drop_index(batch_op.f('ix_webhook_rejections_connection_id'))

    op.drop_table('webhook_rejections')

