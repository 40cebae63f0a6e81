"""Reconciliation: an index on articles.emitted_at and the reconcile_passes log.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_articles_emitted_at', 'articles', ['emitted_at'], unique=False)
    op.create_table(
        'reconcile_passes',
        sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('cutoff', sa.DateTime(timezone=True), nullable=False),
        sa.Column('found', sa.Integer(), nullable=False),
        sa.Column('reemitted', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reconcile_passes')),
    )
    op.create_index(op.f('ix_reconcile_passes_at'), 'reconcile_passes', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_reconcile_passes_at'), table_name='reconcile_passes')
    op.drop_table('reconcile_passes')
    op.drop_index('ix_articles_emitted_at', table_name='articles')
