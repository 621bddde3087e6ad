"""Alert notifications: attempts, next retry and last error per alert

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('monitor_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('notify_next_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True))
        batch_op.add_column(sa.Column('notify_error', sa.String(length=500), nullable=True))


def downgrade_():
    with op.batch_alter_table('monitor_alerts', schema=None) as batch_op:
        batch_op.drop_column('notify_error')
        batch_op.drop_column('notify_next_at')
        batch_op.drop_column('notify_attempts')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass

