"""Impossible actuals are bad input (issue 16): more customers or revenue lost (in a month or
summed up to a month) than the plan's base holds, more customers active than it holds."""

from __future__ import annotations

import pytest

import cxopt
from cxopt.tracking.actuals import read_actuals
from tests.tracking.test_track import small, write  # noqa: F401  (fixture)


def impossible(made, which: str) -> tuple[str, str, str]:
    n = made.N
    revenue = float(made.stored.groups.revenue.sum())
    return {
        "customers lost in a month": (f"month,customers_lost\n1,3\n2,{n * 50:.0f}\n", "customers_lost", "row 2"),
        "customers lost summed": (f"month,customers_lost\n1,{n * 0.6:.0f}\n2,3\n3,{n * 0.6:.0f}\n",
                                  "customers_lost", "row 3"),
        "revenue lost in a month": (f"month,revenue_lost\n1,{revenue * 2:.0f}\n", "revenue_lost", "row 1"),
        "revenue lost summed": (f"month,revenue_lost\n1,{revenue * 0.7:.0f}\n2,{revenue * 0.7:.0f}\n",
                                "revenue_lost", "row 2"),
        "customers active": (f"month,customers_active\n1,{n * 2:.0f}\n", "customers_active", "row 1"),
    }[which]


@pytest.mark.parametrize("which", ["customers lost in a month", "customers lost summed", "revenue lost in a month",
                                   "revenue lost summed", "customers active"])
def test_actuals_beyond_the_base_are_bad_input_naming_file_column_and_row(small, tmp_path, which):
    text, column, row = impossible(small, which)
    path = write(tmp_path / "actuals.csv", text)
    with pytest.raises(cxopt.DataError) as info:
        read_actuals(path, small.stored)
    problem = info.value.problems[0]
    assert (problem.source, problem.path) == (str(path), column)
    assert row in problem.reason and "more than the plan's base holds" in problem.reason


def test_losing_the_whole_base_is_possible(small, tmp_path):
    path = write(tmp_path / "actuals.csv", f"month,customers_lost\n1,{small.N / 2:.0f}\n2,{small.N / 2:.0f}\n")
    assert read_actuals(path, small.stored).customers_lost.sum() == pytest.approx(small.N, abs=1)
