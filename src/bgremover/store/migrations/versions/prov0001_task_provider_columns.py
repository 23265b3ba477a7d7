"""tasks record who served them: provider, the attempts (JSON), the upstream latency and cost (issue 16)

Revision ID: prov0001
Revises: idem0001
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op


revision = 'prov0001'
down_revision = 'idem0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('attempts_json', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('upstream_latency_s', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('upstream_cost', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('upstream_cost')
        batch_op.drop_column('upstream_latency_s')
        batch_op.drop_column('attempts_json')
        batch_op.drop_column('provider')
