"""Errors with an owner: a sync error's assignee (a staff user), due date, assignment time and the last
failure to notify them; notes on errors (a person's, or the console's when a later run resolves one)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 10:40:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('integration_sync_errors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'),
                                      nullable=True))
        batch_op.add_column(sa.Column('notice_error', sa.String(length=300), nullable=True))
        batch_op.create_index('ix_integration_sync_errors_assignee_user_id', ['assignee_user_id'])
        batch_op.create_foreign_key('fk_integration_sync_errors_assignee', 'users', ['assignee_user_id'], ['id'])
    op.create_table(
        'integration_error_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('error_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('body', sa.String(length=2000), nullable=False),
        sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
        sa.ForeignKeyConstraint(['error_id'], ['integration_sync_errors.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_integration_error_notes_error_id', 'integration_error_notes', ['error_id'])


def downgrade_():
    op.drop_index('ix_integration_error_notes_error_id', table_name='integration_error_notes')
    op.drop_table('integration_error_notes')
    with op.batch_alter_table('integration_sync_errors', schema=None) as batch_op:
        batch_op.drop_constraint('fk_integration_sync_errors_assignee', type_='foreignkey')
        batch_op.drop_index('ix_integration_sync_errors_assignee_user_id')
        batch_op.drop_column('notice_error')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('due_on')
        batch_op.drop_column('assignee_user_id')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
