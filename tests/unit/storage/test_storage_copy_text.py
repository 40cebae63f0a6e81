"""The COPY text encoder of the sink's fast write path: every value type it sends, escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from finsent.storage.copy_writes import copy_text
from finsent.storage.exceptions import StorageDataError


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("plain", "plain"),
        ("tab\there\nnew\\slash\r", "tab\\there\\nnew\\\\slash\\r"),
        (None, "\\N"),
        (True, "t"),
        (np.bool_(False), "f"),
        (7, "7"),
        (np.int64(-3), "-3"),
        (0.25, "0.25"),
        (np.float32(0.5), "0.5"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
        ([0.2, 0.3, 0.5], "{0.2,0.3,0.5}"),
        ([], "{}"),
        (["A", 'say "hi"', "back\\slash", None], '{"A","say \\\\"hi\\\\"","back\\\\\\\\slash",NULL}'),
        (datetime(2026, 1, 5, 9, 30, tzinfo=UTC), "2026-01-05T09:30:00+00:00"),
    ],
)
def test_each_value_is_written_as_copy_text(value: object, field: str) -> None:
    assert copy_text([{"v": value}], ["v"]) == field + "\n"


def test_rows_are_tab_separated_lines_in_column_order() -> None:
    rows = [{"a": 1, "b": "x"}, {"a": 2, "b": None}]
    assert copy_text(rows, ["b", "a"]) == "x\t1\n\\N\t2\n"


@pytest.mark.parametrize("value", [datetime(2026, 1, 5), {"json": 1}, object()])
def test_values_copy_cannot_carry_are_refused_as_bad_data(value: object) -> None:
    with pytest.raises(StorageDataError):
        copy_text([{"v": value}], ["v"])
