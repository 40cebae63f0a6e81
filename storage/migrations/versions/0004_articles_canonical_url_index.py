"""Index articles.canonical_url: ids no longer come from the link alone, so crawlers look up
"is this page stored already" by the canonical URL.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_articles_canonical_url', 'articles', ['canonical_url'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_articles_canonical_url', table_name='articles')
