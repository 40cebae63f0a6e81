"""Entity and sentence scores: entity_scores, sentence_scores, relevance-weighted agg_entity columns.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WEIGHTED = ('w_negative', 'w_neutral', 'w_positive', 'w_sum_score')


def upgrade() -> None:
    op.create_table('entity_scores',
    sa.Column('article_id', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('relevance', sa.Float(), nullable=False),
    sa.Column('in_title', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('mentions', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('sentiment', sa.String(length=16), nullable=False),
    sa.Column('sentiment_probs', postgresql.ARRAY(sa.Float()), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("source IN ('entity', 'document')", name=op.f('ck_entity_scores_source')),
    sa.CheckConstraint('relevance >= 0 AND relevance <= 1', name=op.f('ck_entity_scores_relevance')),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_entity_scores_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'entity', 'model_version', name=op.f('pk_entity_scores'))
    )
    op.create_index('ix_entity_scores_entity_published', 'entity_scores', ['entity', 'published_at'], unique=False)
    op.create_table('sentence_scores',
    sa.Column('article_id', sa.String(length=64), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('char_start', sa.Integer(), nullable=False),
    sa.Column('char_end', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sentiment', sa.String(length=16), nullable=False),
    sa.Column('sentiment_probs', postgresql.ARRAY(sa.Float()), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.CheckConstraint('char_start >= 0 AND char_end >= char_start', name=op.f('ck_sentence_scores_span')),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_sentence_scores_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'model_version', 'idx', name=op.f('pk_sentence_scores'))
    )
    for column in _WEIGHTED:
        op.add_column('agg_entity', sa.Column(column, sa.Float(), server_default=sa.text('0'), nullable=False))
    # Existing buckets have no entity-level rows: their weighted score sum is exact, the weighted
    # label counts are apportioned by label share (exact when a bucket's mentions share one
    # relevance); storage.aggregates.rebuild_all recounts them exactly.
    op.execute(
        "UPDATE agg_entity SET w_sum_score = weighted_mean_score * weight_sum, "
        "w_negative = CASE WHEN n > 0 THEN weight_sum * n_negative / n ELSE 0 END, "
        "w_neutral = CASE WHEN n > 0 THEN weight_sum * n_neutral / n ELSE 0 END, "
        "w_positive = CASE WHEN n > 0 THEN weight_sum * n_positive / n ELSE 0 END"
    )


def downgrade() -> None:
    for column in reversed(_WEIGHTED):
        op.drop_column('agg_entity', column)
    op.drop_table('sentence_scores')
    op.drop_index('ix_entity_scores_entity_published', table_name='entity_scores')
    op.drop_table('entity_scores')
