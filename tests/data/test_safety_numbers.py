"""Numbers that would be wrong silently (issue 16): revenue above the stated maximum (the
kernels' int64 fixed-point sums would wrap), duplicate customer ids (within a file, across
chunks, the same base twice in one directory), found with bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from cxopt.data import base as base_module
from cxopt.data.chunk import MAX_REVENUE
from cxopt.data.customers import CustomerBase
from cxopt.data.unique import DuplicateIds
from cxopt.errors import DataError
from tests.data.test_customers import good_columns, make_scenario, write


@pytest.fixture(scope="module")
def scenario():
    return make_scenario(count=1_000)


def problem_of(scenario, path, **kw):
    with pytest.raises(DataError) as info:
        CustomerBase.from_file(scenario, path).group(**kw)
    [problem] = info.value.problems
    return problem


@pytest.mark.parametrize("revenue", [1e300, MAX_REVENUE * 1.01, 9.3e18])
def test_revenue_above_the_stated_maximum_is_bad_input_naming_file_column_and_row(scenario, tmp_path, revenue):
    cols = good_columns()
    cols["revenue"][3] = revenue
    path = write(cols, tmp_path / "base.parquet")
    problem = problem_of(scenario, path)
    assert (problem.source, problem.path) == (str(path), "revenue")
    assert "row 4 (customer_id 103)" in problem.reason and "maximum" in problem.reason


def test_revenue_at_the_maximum_is_accepted_and_sums_exactly(scenario, tmp_path):
    cols = good_columns()
    cols["revenue"] = [MAX_REVENUE] * len(cols["revenue"])
    path = write(cols, tmp_path / "base.parquet")
    groups = CustomerBase.from_file(scenario, path).group()
    assert float(np.sum(groups.revenue)) == pytest.approx(MAX_REVENUE * len(cols["revenue"]), rel=1e-12)


def test_a_base_whose_revenue_adds_up_past_the_total_maximum_is_bad_input(scenario, tmp_path, monkeypatch):
    monkeypatch.setattr(base_module, "MAX_TOTAL_REVENUE", 5000.0)  # as 1e18 would be for a huge base
    path = write(good_columns(), tmp_path / "base.parquet")
    problem = problem_of(scenario, path)
    assert (problem.source, problem.path) == (str(path), "revenue") and "adds up" in problem.reason


@pytest.mark.parametrize("chunk_size", [1, 2, 1 << 20])
def test_a_duplicate_customer_id_is_bad_input_naming_both_rows(scenario, tmp_path, chunk_size):
    cols = good_columns()
    cols["customer_id"][4] = cols["customer_id"][1]
    path = write(cols, tmp_path / "base.parquet")
    problem = problem_of(scenario, path, chunk_size=chunk_size)
    assert (problem.source, problem.path) == (str(path), "customer_id")
    assert "customer_id 101 appears twice" in problem.reason
    assert "row 5" in problem.reason and "row 2" in problem.reason


def test_the_same_base_twice_in_a_directory_is_bad_input(scenario, tmp_path):
    folder = tmp_path / "bases"
    folder.mkdir()
    write(good_columns(), folder / "a.parquet")
    write(good_columns(), folder / "b.parquet")
    problem = problem_of(scenario, folder)
    assert problem.path == "customer_id" and "appears twice" in problem.reason
    assert "a.parquet" in problem.reason and problem.source.endswith("b.parquet")


def test_a_bitmap_far_too_small_still_finds_exactly_the_duplicates():
    """The first pass only narrows the search: with 2**16 bits for 200,000 ids nearly every
    id is a suspect, and the exact pass must still say 'no duplicate', then find the one."""
    rng = np.random.default_rng(1)
    ids = rng.permutation(np.arange(-100_000, 100_000, dtype=np.int64) * 7919)
    parts = np.array_split(ids, 7)
    finder = DuplicateIds(expected=1)
    for p in parts:
        finder.add(p)
    finder.check(["f"], lambda path: iter(parts))
    with_dup = parts[:-1] + [np.append(parts[-1], ids[12345])]
    finder = DuplicateIds(expected=1)
    for p in with_dup:
        finder.add(p)
    with pytest.raises(DataError, match=f"customer_id {ids[12345]} appears twice"):
        finder.check(["f"], lambda path: iter(with_dup))


def test_the_bitmap_is_bounded():
    assert DuplicateIds(expected=10**12).bits == 1 << 30  # 128 MiB whatever the base's size
