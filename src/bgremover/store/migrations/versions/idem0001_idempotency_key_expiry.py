"""idempotency keys expire: index created_at for the workers' sweep of expired keys

Revision ID: idem0001
Revises: dash0001
Create Date: 2026-11-25
"""
from alembic import op


revision = 'idem0001'
down_revision = 'dash0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created')
