"""A request log per run: every HTTP call a run makes to the provider (method, path template, query keys,
status, latency, rate headers, attempt), in the traffic database

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 10:30:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
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
    op.create_table(
        'integration_request_log',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
        sa.Column('method', sa.String(length=8), nullable=False),
        sa.Column('path', sa.String(length=200), nullable=False),
        sa.Column('query_keys', sa.String(length=200), nullable=True),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('latency_ms', sa.Integer(), nullable=False),
        sa.Column('rate_remaining', sa.Integer(), nullable=True),
        sa.Column('daily_remaining', sa.Integer(), nullable=True),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_integration_request_log_run', 'integration_request_log', ['run_id', 'id'])
    op.create_index('ix_integration_request_log_connection_at', 'integration_request_log', ['connection_id', 'at'])


def downgrade_traffic():
    op.drop_index('ix_integration_request_log_connection_at', table_name='integration_request_log')
    op.drop_index('ix_integration_request_log_run', table_name='integration_request_log')
    op.drop_table('integration_request_log')
