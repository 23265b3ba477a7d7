"""tasks record the subject's box in their result, so opaque results (JPEG, a background) answer it too

Revision ID: box0001
Revises: prov0001
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op


revision = 'box0001'
down_revision = 'prov0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result_box', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('result_box')
