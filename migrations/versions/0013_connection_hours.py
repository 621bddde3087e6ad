"""Per-connection hourly rollups of finished runs (runs by status, records, API calls, 429s, runs that
did not add up or were stopped) and of measured freshness, for the ops dashboard and the alert pass;
filled from the runs already stored; an index for a connection's normalized events of one kind

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import console.models.base

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

COUNTS = ('runs_succeeded', 'runs_partial', 'runs_failed', 'runs_cancelled', 'seen', 'written', 'failed',
          'api_calls', 'rate_limited', 'unbalanced', 'stopped')


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table('connection_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql').with_variant(console.models.base.SqliteDateTime(), 'sqlite'), nullable=False),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
    sa.Column('fresh_target_seconds', sa.Integer(), nullable=True),
    sa.Column('fresh_measured', sa.Integer(), nullable=True),
    sa.Column('fresh_within', sa.Integer(), nullable=True),
    sa.Column('fresh_worst_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id'], name=op.f('fk_connection_hours_connection_id_integration_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_hours')),
    sa.UniqueConstraint('connection_id', 'hour', name=op.f('uq_connection_hours_connection_id_hour'))
    )
    # The runs already finished, summed per connection and hour of creation (dry runs left out).
    mysql_like = op.get_bind().dialect.name == 'mysql'
    hour = 'DATE_FORMAT(created_at, :fmt)' if mysql_like else 'strftime(:fmt, created_at)'
    fmt = '%Y-%m-%d %H:00:00' if mysql_like else '%Y-%m-%d %H:00:00.000000'
    op.execute(sa.text(f"""
        INSERT INTO connection_hours (connection_id, hour, {', '.join(COUNTS)})
        SELECT connection_id, {hour},
            SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'partial' THEN 1 ELSE 0 END),
            SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END),
            SUM(seen), SUM(created + updated), SUM(failed), SUM(COALESCE(api_calls, 0)),
            SUM(COALESCE(rate_limited, 0)),
            SUM(CASE WHEN seen <> created + updated + unchanged + duplicate + failed + skipped THEN 1 ELSE 0 END),
            SUM(CASE WHEN status = 'failed' AND error_message LIKE :stopped THEN 1 ELSE 0 END)
        FROM integration_sync_runs
        WHERE dry_run = :no AND status IN ('succeeded', 'partial', 'failed', 'cancelled')
        GROUP BY connection_id, {hour}
    """).bindparams(fmt=fmt, stopped='The process running this stopped%', no=False))


def downgrade_():
    op.drop_table('connection_hours')


def upgrade_traffic():
    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.create_index('ix_integration_normalized_events_connection_kind', ['connection_id', 'source_kind'], unique=False)


def downgrade_traffic():
    with op.batch_alter_table('integration_normalized_events', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_normalized_events_connection_kind')
