"""Alembic migrations against a real, empty PostgreSQL database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from finsent.storage.db import current_revision, downgrade, head_revision, make_engine, upgrade
from finsent.storage.schema import Base


def _tables(url: str) -> set[str]:
    engine = make_engine(url, pool_size=1)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _diffs(url: str) -> list[object]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_exactly_the_models_schema(fresh_database_url: str) -> None:
    assert current_revision(fresh_database_url) is None

    upgrade(fresh_database_url)

    assert current_revision(fresh_database_url) == head_revision()
    assert _tables(fresh_database_url) == set(Base.metadata.tables) | {"alembic_version"}
    assert _diffs(fresh_database_url) == []


def test_downgrade_to_base_leaves_no_table_and_upgrade_works_again(fresh_database_url: str) -> None:
    upgrade(fresh_database_url)

    downgrade(fresh_database_url, "base")

    assert current_revision(fresh_database_url) is None
    assert _tables(fresh_database_url) <= {"alembic_version"}
    upgrade(fresh_database_url)
    assert _diffs(fresh_database_url) == []


def test_upgrade_is_idempotent(fresh_database_url: str) -> None:
    upgrade(fresh_database_url)
    upgrade(fresh_database_url)
    assert current_revision(fresh_database_url) == head_revision()


def test_0002_adds_entity_tables_backfills_weighted_sums_and_reverts(fresh_database_url: str) -> None:
    from sqlalchemy import text

    upgrade(fresh_database_url, "0001")
    engine = make_engine(fresh_database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO agg_entity VALUES "
                    "('2025-01-01T00:00:00Z', 'AAA', 4, 1, 1, 2, 1.2, 0.3, 2.0, 0.4)"
                )
            )
        upgrade(fresh_database_url, "0002")
        with engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM agg_entity")).mappings().one()
        assert row["w_sum_score"] == 0.8  # weighted_mean_score x weight_sum: exact
        assert (row["w_negative"], row["w_neutral"], row["w_positive"]) == (0.5, 0.5, 1.0)
        assert {"entity_scores", "sentence_scores"} <= _tables(fresh_database_url)

        downgrade(fresh_database_url, "0001")
        assert current_revision(fresh_database_url) == "0001"
        assert not {"entity_scores", "sentence_scores"} & _tables(fresh_database_url)
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT * FROM agg_entity")).mappings().one()
        assert "w_sum_score" not in kept and kept["weighted_mean_score"] == 0.4
    finally:
        engine.dispose()
