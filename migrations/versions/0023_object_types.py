"""The object registry's portal-specific part: the custom object types a connection syncs, as their schema
read (name, labels, properties, associations)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 20:10:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

DT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
JSON_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), 'mysql')


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table(
        'integration_object_types',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('singular', sa.String(length=120), nullable=False),
        sa.Column('plural', sa.String(length=120), nullable=False),
        sa.Column('primary_property', sa.String(length=100), nullable=True),
        sa.Column('properties', JSON_TEXT, nullable=False),
        sa.Column('associations', JSON_TEXT, nullable=False),
        sa.Column('created_at', DT, nullable=False),
        sa.Column('updated_at', DT, nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['integration_connections.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('connection_id', 'object_type'),
    )


def downgrade_():
    op.drop_table('integration_object_types')


def upgrade_traffic():
    pass


def downgrade_traffic():
    pass
