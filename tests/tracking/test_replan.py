"""Re-plan (issue 13 item 4): what is live or started is kept, a cancelled initiative is out, the
new choice is made by the plan's own objective (revenue or value, mean or CVaR) on the posterior
draws, and its pair tables are the simulation's (the pair kernel's values agree with the
portfolio path)."""

from __future__ import annotations

import numpy as np
import pytest

import cxopt
from cxopt.engine.grouped import evaluate_grouped
from cxopt.plan.build import build_plan
from cxopt.plan.store import load_plan
from cxopt.report.plandir import save_plan
from cxopt.tracking.replan import replan
from tests import builders
from tests.tracking.test_track import actuals

SCENARIO = builders.scenario({
    "scenario.trials": 200, "scenario.margin": 0.4, "budget": {"total": 500},
    "initiatives[1].start_month": 2,
})


def made(root, **optimize_kw):
    sc = cxopt.load_scenario(builders.write(root / "scenario.toml", SCENARIO))
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=5_000), seed=3)
    result = cxopt.optimize(sim, **optimize_kw)
    return load_plan(save_plan(build_plan(result, binding=False), root / "plan"))


@pytest.mark.parametrize("kw", [{}, {"objective": "value"}, {"risk": "cvar:0.2:0.5"}],
                         ids=["revenue", "value", "cvar"])
def test_the_new_choice_is_made_by_the_plans_objective(tmp_path, kw):
    plan = made(tmp_path, **kw)
    out = replan(plan, actuals([1, 2, 3], [150, 150, 150]))
    solver = out.plan.result.solver
    assert solver["objective_name"] == plan.data["solver"]["objective_name"]
    assert solver["objective"] == plan.data["solver"]["objective"]


def test_started_initiatives_are_kept_and_a_cancelled_one_is_out(tmp_path):
    plan = made(tmp_path)
    ids = plan.scenario.initiative_ids
    chosen = [ids[k] for k in plan.selected]
    assert len(chosen) >= 2
    cancelled = chosen[-1]
    out = replan(plan, actuals([1, 2, 3], [150, 150, 150], status={cancelled: ["cancelled"] * 3}))
    assert cancelled in out.cancelled and cancelled not in out.new["selected"]
    for kept in out.kept:
        assert kept in out.new["selected"]


def test_pair_tables_on_the_posterior_draws_agree_with_the_portfolio_path(tmp_path):
    plan = made(tmp_path)
    sim = replan(plan, actuals([1, 2], [150, 150])).plan.result.simulation
    if not sim.pairs.size:
        pytest.skip("no interacting pairs in this scenario")
    rev, _ = evaluate_grouped(sim.scenario, sim.groups, sim.draws, [list(map(int, p)) for p in sim.pairs])
    np.testing.assert_allclose(sim.pair_revenue, rev, rtol=1e-12)
