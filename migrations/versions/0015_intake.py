"""The integration intake: answers per connection and question (who answered, when), attached sample
files and API documents with the fields found in them, and each connection's fields that never leave
the source and fields that never enter logs; saved versions of the integration design with the client's sign-off

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:00:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import console.models.base

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql').with_variant(console.models.base.SqliteDateTime(), 'sqlite')


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table('intake_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=60), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('answered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', TIME, nullable=False),
    sa.Column('updated_at', TIME, nullable=False),
    sa.Column('created_at', TIME, nullable=False),
    sa.ForeignKeyConstraint(['answered_by_user_id'], ['users.id'], name=op.f('fk_intake_answers_answered_by_user_id_users')),
    sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id'], name=op.f('fk_intake_answers_connection_id_integration_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_answers')),
    sa.UniqueConstraint('connection_id', 'question', name=op.f('uq_intake_answers_connection_id_question'))
    )
    op.create_table('intake_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_hash', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('fields', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', TIME, nullable=False),
    sa.Column('created_at', TIME, nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id'], name=op.f('fk_intake_attachments_connection_id_integration_connections')),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['users.id'], name=op.f('fk_intake_attachments_uploaded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_attachments')),
    sa.UniqueConstraint('connection_id', 'file_hash', name=op.f('uq_intake_attachments_connection_id_file_hash'))
    )
    op.create_table('design_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('client_content', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('configuration', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('saved_by_user_id', sa.Integer(), nullable=True),
    sa.Column('signed_off_at', TIME, nullable=True),
    sa.Column('signed_off_by', sa.String(length=200), nullable=True),
    sa.Column('signed_off_how', sa.String(length=500), nullable=True),
    sa.Column('sign_off_recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', TIME, nullable=False),
    sa.Column('created_at', TIME, nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id'], name=op.f('fk_design_versions_connection_id_integration_connections')),
    sa.ForeignKeyConstraint(['saved_by_user_id'], ['users.id'], name=op.f('fk_design_versions_saved_by_user_id_users')),
    sa.ForeignKeyConstraint(['sign_off_recorded_by_user_id'], ['users.id'], name=op.f('fk_design_versions_sign_off_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_design_versions')),
    sa.UniqueConstraint('connection_id', 'number', name=op.f('uq_design_versions_connection_id_number'))
    )
    with op.batch_alter_table('integration_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withheld_fields', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True))
        batch_op.add_column(sa.Column('masked_fields', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True))


def downgrade_():
    with op.batch_alter_table('integration_connections', schema=None) as batch_op:
        batch_op.drop_column('masked_fields')
        batch_op.drop_column('withheld_fields')
    op.drop_table('design_versions')
    op.drop_table('intake_attachments')
    op.drop_table('intake_answers')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
