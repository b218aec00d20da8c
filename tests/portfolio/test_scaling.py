"""Money in any units: the solvers are handed the program in well-scaled units
(cxopt.portfolio.backends.scaling), so a cost of 1e15 or revenue of 1e11 a customer gives the same
choice as the same problem in ordinary units, and the program's optimum by enumeration (issue 16:
HiGHS failed with IndexError / 'Unbounded' there, CBC ran past its time limit)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cxopt.portfolio.backends import backend_for
from cxopt.portfolio.backends.exhaustive import feasible_portfolios
from cxopt.portfolio.backends.scaling import Scaling
from cxopt.portfolio.model import PortfolioProblem, ValueTables
from tests.portfolio.random_instances import random_problem

SCALES = [(1.0, 1.0), (1e11, 1e15), (1e-3, 1e9), (1e9, 1e-6), (1e13, 1.0)]


def scaled(seed: int, revenue: float, cost: float, objective: str) -> PortfolioProblem:
    p = random_problem(seed)
    t = p.tables
    tables = ValueTables(t.baseline * revenue, t.gains * revenue, t.pairs, t.interactions * revenue)
    c = p.constraints
    cons = dataclasses.replace(c, costs=c.costs * cost, budget=c.budget * cost)
    return PortfolioProblem(tables, cons, objective)


def program_optimum(problem: PortfolioProblem) -> float:
    return max(problem.estimate(s) for s in feasible_portfolios(problem.constraints))


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("objective", ["mean", "cvar:0.2:0.5"])
@pytest.mark.parametrize("revenue, cost", SCALES, ids=[f"rev{r:g}-cost{c:g}" for r, c in SCALES])
def test_the_choice_does_not_depend_on_the_units_of_money(solver, objective, revenue, cost):
    backend = backend_for(solver)
    for seed in range(6):
        problem = scaled(seed, revenue, cost, objective)
        outcome = backend.solve(problem, time_limit=30)
        assert outcome.status == "optimal", (seed, outcome.native)
        best = program_optimum(problem)
        assert problem.estimate(outcome.selected) == pytest.approx(best, rel=1e-9, abs=1e-12 * abs(best))
        plain = backend_for(solver).solve(scaled(seed, 1.0, 1.0, objective), time_limit=30)
        assert problem.estimate(plain.selected) == pytest.approx(best, rel=1e-9, abs=1e-12 * abs(best))


def test_cuts_and_budget_moves_are_scaled_like_the_rows():
    problem = scaled(3, 1e11, 1e15, "mean")
    model = problem.matrix_model()
    scaling = Scaling(model)
    rows = scaling.rows(model)
    assert max(float(np.abs(r.value).max()) for r in rows if r.value.size) == pytest.approx(1.0)
    r = next(iter(model.budget_rows.values()))
    assert scaling.budget_upper(model, r) * scaling.row_scale[r] == pytest.approx(model.rows[r].upper)
    model.add_cut((0, 1))
    [cut] = scaling.rows(model, len(model.rows) - 1)
    assert set(np.abs(cut.value)) == {1.0} and scaling.row_scale.size == len(model.rows)


@pytest.mark.parametrize("cost, revenue", [(1e15, None), (1.0, 1e11), (1e15, 1e11)])
def test_optimize_with_huge_money_exits_0_and_solvers_agree(tmp_path, cost, revenue):
    import json

    from typer.testing import CliRunner

    from cxopt.cli.app import app
    from tests import builders

    data = builders.scenario()
    for init in data["initiatives"]:
        init["cost"] = float(init.get("cost", 1.0)) * cost
    data["budget"] = {"total": 400 * cost}
    if revenue is not None:
        data["customers"]["revenue"] = revenue
    path = builders.write(tmp_path / "huge.toml", data)
    chosen = {}
    for solver in ("highs", "cbc", "exhaustive"):
        result = CliRunner().invoke(app, ["optimize", str(path), "--customers", "2000", "--trials", "40",
                                          "--solver", solver, "--json"])
        assert result.exit_code == 0, result.output
        chosen[solver] = json.loads(result.stdout)["selected"]
    assert chosen["highs"] == chosen["cbc"] == chosen["exhaustive"]
