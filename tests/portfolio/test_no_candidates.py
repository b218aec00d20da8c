"""A scenario with no initiatives (a market-at-risk study) is valid input: every solver returns
the empty portfolio, the plan is the baseline, and the CLI exits 0 (HiGHS answers an empty
model with kModelEmpty, which used to end in 'returned no solution', exit 1)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import cxopt
from cxopt.cli.app import app
from cxopt.plan.build import build_plan
from tests import builders


@pytest.fixture(scope="module")
def no_initiatives():
    return builders.scenario({"initiatives": []})


@pytest.mark.parametrize("solver", ["highs", "cbc", "exhaustive"])
def test_every_solver_returns_the_empty_portfolio(no_initiatives, solver):
    sc = cxopt.parse_scenario(no_initiatives, source="none.toml")
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=1_000), trials=30, seed=2)
    result = cxopt.optimize(sim, solver=solver)
    assert result.selected == ()
    np.testing.assert_array_equal(result.revenue, sim.baseline_revenue)
    plan = build_plan(result).to_dict()
    assert plan["goal"]["expected_increment"] == 0.0 and plan["contributions"] == {}


def test_optimize_json_exits_0(no_initiatives, tmp_path):
    path = builders.write(tmp_path / "none.toml", no_initiatives)
    result = CliRunner().invoke(app, ["optimize", str(path), "--customers", "1000", "--trials", "30", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["selected"] == []
