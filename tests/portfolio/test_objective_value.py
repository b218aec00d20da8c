"""``objective="value"``: maximise expected margin x retained revenue + operating savings - cost.

The reference is written here from the definition, independent of cxopt's value map
(``cxopt.portfolio.objective``) and of its savings count (``cxopt.engine.operating``): the
rules are read off the scenario dict, every feasible portfolio's retained revenue per trial comes
from the simulation (``Simulation.evaluate``), and its value per trial is computed in NumPy:

    value_t(S) = margin x R_t(S) + sum_{k in S} (savings_k(t) - cost_k)

with a year's savings ``s`` counted in closed form as ``s / 12 x delivered x clip(H - golive, 0, H)``
(a twelfth for each month live) and per-period savings as ``amount x delivered``; costs are the
sum of the periods' costs. The optimiser (HiGHS, CBC, exhaustive; the mean and the CVaR mix), the
chance-constrained choice, the frontier and the binding study must land on the brute-force best.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import cxopt
from cxopt.engine.operating import horizon_savings, monthly_savings
from cxopt.plan.binding import binding
from cxopt.portfolio.chance import choose_with_targets, parse_target
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.frontier import frontier
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.risk import risk_value
from cxopt.portfolio.search import optimize
from cxopt.errors import ArgumentError

H = 12
MARGIN = 0.35
CUSTOMERS = 2_000
TRIALS = 160
PERIODS = ("h1", "h2")


# --------------------------------------------------------------------------------------
# instances
# --------------------------------------------------------------------------------------
def spec_of(initiatives, *, budget, max_initiatives, margin=MARGIN, pains=None, seed=11):
    return {
        "scenario": {"name": "value under test", "trials": TRIALS, "seed": seed, "horizon_months": H,
                     "start": "2027-01", **({} if margin is None else {"margin": margin})},
        "customers": {"count": CUSTOMERS, "revenue": {"dist": "lognormal", "median": 600.0, "sigma": 0.6},
                      "baseline_churn": {"dist": "beta", "mean": 0.06, "sd": 0.02}},
        "market": {"churn_multiplier": {"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.1}},
        "pain_points": pains or [{"id": "p0", "volume": 0.4, "severity": {"dist": "uniform", "low": 0.1, "high": 0.3}},
                                 {"id": "p1", "volume": 0.3, "severity": {"dist": "uniform", "low": 0.05, "high": 0.2}}],
        "initiatives": initiatives,
        "budget": {"total": dict(budget), "months": {"h1": "2027-01", "h2": "2027-07"},
                   "max_initiatives": max_initiatives, "owner_capacity": 1},
    }


def random_spec(rng: np.random.Generator) -> dict:
    """4-6 initiatives with per-period costs, a year's or per-period savings (or none), uncertain
    delivery and go-live, some sharing an owner."""
    K = int(rng.integers(4, 7))
    inits = []
    for k in range(K):
        acts = rng.choice(2, size=int(rng.integers(1, 3)), replace=False)
        fixes = {f"p{j}": {"dist": "uniform", "low": float(lo), "high": float(lo) + 0.2}
                 for j, lo in zip(acts, rng.choice([0.2, 0.4, 0.6], size=len(acts)))}
        init = {"id": f"i{k}", "owner": f"o{int(rng.integers(0, K - 1))}", "fixes": fixes,
                "cost": {"h1": float(rng.integers(1, 30)) * 1_000.0, "h2": float(rng.integers(0, 10)) * 1_000.0},
                "success_probability": float(rng.choice([0.6, 0.85, 1.0])),
                "months_to_impact": {"dist": "uniform", "low": 0, "high": int(rng.integers(1, 9))}}
        kind = rng.integers(0, 3)
        if kind == 1:
            init["savings"] = float(rng.integers(1, 40)) * 1_000.0
        elif kind == 2:
            init["savings"] = {p: float(rng.integers(0, 15)) * 1_000.0 for p in PERIODS}
        inits.append(init)
    budget = {"h1": float(rng.integers(20, 60)) * 1_000.0, "h2": float(rng.integers(5, 20)) * 1_000.0}
    return spec_of(inits, budget=budget, max_initiatives=int(rng.integers(2, 4)))


def simulate(spec: dict, seed: int = 5):
    sc = cxopt.parse_scenario(spec, source="value-test.toml")
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=CUSTOMERS), trials=TRIALS, seed=seed)


# --------------------------------------------------------------------------------------
# the independent reference
# --------------------------------------------------------------------------------------
def cost_of(init: dict) -> float:
    return float(sum(init["cost"].values())) if isinstance(init["cost"], dict) else float(init["cost"])


def obeys(spec: dict, chosen: tuple[str, ...], *, max_initiatives=None, budget_scale=1.0) -> bool:
    inits = {i["id"]: i for i in spec["initiatives"]}
    b = spec["budget"]
    if len(chosen) > (max_initiatives or b["max_initiatives"]):
        return False
    for p, limit in b["total"].items():
        if sum(inits[k]["cost"].get(p, 0.0) for k in chosen) > limit * budget_scale + 1e-9:
            return False
    owners = [inits[k]["owner"] for k in chosen]
    return len(set(owners)) == len(owners)


def feasible(spec: dict, **rules) -> list[tuple[str, ...]]:
    ids = [i["id"] for i in spec["initiatives"]]
    return [c for r in range(len(ids) + 1) for c in itertools.combinations(ids, r) if obeys(spec, c, **rules)]


def savings_by_hand(spec: dict, sim) -> dict[str, np.ndarray]:
    """Each initiative's horizon savings per trial, in closed form from the draws."""
    out = {}
    d = sim.draws
    month_of = {"h1": 0, "h2": 6}  # [budget.months] h1 = 2027-01, h2 = 2027-07 (start 2027-01)
    for k, init in enumerate(spec["initiatives"]):
        s = init.get("savings")
        delivered = d.success[:, k].astype(float)
        if s is None:
            out[init["id"]] = np.zeros(sim.trials)
        elif isinstance(s, dict):
            assert all(0 <= month_of[p] < H for p in s)
            out[init["id"]] = sum(amount for amount in s.values()) * delivered
        else:
            months_live = np.clip(H - d.golive[:, k].astype(float), 0, H)
            out[init["id"]] = s / 12.0 * delivered * months_live
    return out


def values_by_hand(spec: dict, sim, portfolios) -> np.ndarray:
    """(n, T) value per trial of each portfolio (ids)."""
    margin = spec["scenario"].get("margin", 1.0)
    rev, _ = sim.evaluate([list(p) for p in portfolios])
    sav = savings_by_hand(spec, sim)
    cost = {i["id"]: cost_of(i) for i in spec["initiatives"]}
    out = margin * rev
    for i, p in enumerate(portfolios):
        for k in p:
            out[i] = out[i] + sav[k] - cost[k]
    return out


def brute_best(spec: dict, sim, risk: str = "mean", **rules) -> tuple[tuple[str, ...], float, dict]:
    portfolios = feasible(spec, **rules)
    v = values_by_hand(spec, sim, portfolios)
    scores = {p: risk_by_hand(v[i], risk) for i, p in enumerate(portfolios)}
    best = max(portfolios, key=lambda p: (scores[p], -len(p)))
    return best, scores[best], scores


def cvar_by_hand(values: np.ndarray, alpha: float) -> float:
    """Mean of the worst alpha share of trials (alpha x T whole here)."""
    n = int(round(alpha * values.size))
    assert math.isclose(n, alpha * values.size)
    return float(np.sort(values)[:n].mean())


def risk_by_hand(values: np.ndarray, risk: str) -> float:
    if risk == "mean":
        return float(values.mean())
    _, a, b = risk.split(":")
    return (1 - float(b)) * float(values.mean()) + float(b) * cvar_by_hand(values, float(a))


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


# --------------------------------------------------------------------------------------
# the count of savings and the value map
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def instance():
    return spec_of([
        {"id": "annual", "owner": "o1", "cost": {"h1": 3_000.0, "h2": 1_000.0}, "fixes": {"p0": 0.5},
         "savings": 12_000.0, "months_to_impact": {"dist": "uniform", "low": 1, "high": 6},
         "success_probability": 0.8},
        {"id": "pricey", "owner": "o2", "cost": {"h1": 20_000.0, "h2": 0.0}, "fixes": {"p0": 0.55},
         "success_probability": 0.9},
        {"id": "periodic", "owner": "o3", "cost": {"h1": 500.0, "h2": 2_500.0}, "fixes": {"p1": 0.4},
         "savings": {"h2": 4_000.0, "h1": 1_500.0}, "success_probability": 0.7},
        {"id": "late", "owner": "o4", "cost": {"h1": 1_000.0, "h2": 1_000.0}, "fixes": {"p1": 0.3, "p0": 0.1},
         "savings": 30_000.0, "months_to_impact": {"dist": "uniform", "low": 8, "high": 14}},
    ], budget={"h1": 30_000.0, "h2": 5_000.0}, max_initiatives=3)


@pytest.fixture(scope="module")
def instance_sim(instance):
    return simulate(instance)


def test_horizon_savings_are_the_closed_form(instance, instance_sim):
    got = horizon_savings(instance_sim.scenario, instance_sim.draws)
    want = savings_by_hand(instance, instance_sim)
    for k, init in enumerate(instance["initiatives"]):
        np.testing.assert_allclose(got[:, k], want[init["id"]], rtol=1e-12, atol=1e-9)
    # the per-period amounts land in their periods' months (h1: month 1, h2: month 7)
    m = monthly_savings(instance_sim.scenario, instance_sim.draws, 2)
    delivered = instance_sim.draws.success[:, 2]
    np.testing.assert_allclose(m[:, 0], 1_500.0 * delivered)
    np.testing.assert_allclose(m[:, 6], 4_000.0 * delivered)
    assert np.count_nonzero(m[:, [k for k in range(H) if k not in (0, 6)]]) == 0
    # "late" may go live after the horizon: then it saves nothing
    assert (got[:, 3] == 0).any() and (got[:, 3] > 0).any()


def test_the_programs_tables_are_the_value_on_every_pair(instance, instance_sim):
    cons = Constraints.from_scenario(instance_sim.scenario)
    problem = PortfolioProblem.from_simulation(instance_sim, cons, "mean", "value")
    ids = instance_sim.initiative_ids
    pairs = [()] + [(k,) for k in range(len(ids))] + list(itertools.combinations(range(len(ids)), 2))
    want = values_by_hand(instance, instance_sim, [tuple(ids[k] for k in p) for p in pairs])
    for i, p in enumerate(pairs):  # the program is exact up to pairs
        np.testing.assert_allclose(problem.tables.revenue(p), want[i], rtol=1e-10)
    np.testing.assert_allclose(problem.exact_revenue(pairs), want, rtol=1e-10)


@pytest.mark.parametrize("solver", ["highs", "cbc", "exhaustive"])
def test_value_optimum_equals_brute_force(instance, instance_sim, solver):
    best, best_value, _ = brute_best(instance, instance_sim)
    r = optimize(instance_sim, objective="value", solver=solver)
    got = values_by_hand(instance, instance_sim, [tuple(r.selected_ids)])[0]
    assert close(got.mean(), best_value)
    assert set(r.selected_ids) == set(best)
    np.testing.assert_allclose(r.value, got, rtol=1e-10)
    assert r.objective_name == "value" and r.solver["objective_name"] == "value"
    assert r.solver["objective_text"] == "expected value (margin x retained revenue + savings - cost)"
    assert close(r.solver["expected_value"]["mean"], best_value)
    assert close(r.solver["exact"], best_value)
    # retained revenue is still the portfolio's retained revenue
    rev, _ = instance_sim.evaluate([list(r.selected)])
    np.testing.assert_array_equal(r.revenue, rev[0])


@pytest.mark.parametrize("seed", range(8))
def test_value_optimum_equals_brute_force_on_random_instances(seed):
    spec = random_spec(np.random.default_rng(1000 + seed))
    sim = simulate(spec, seed=seed)
    best, best_value, scores = brute_best(spec, sim)
    for solver in ("highs", "exhaustive"):
        r = optimize(sim, objective="value", solver=solver)
        assert obeys(spec, tuple(r.selected_ids))
        assert close(scores[tuple(r.selected_ids)], best_value), (solver, seed)


def test_revenue_and_value_choose_differently():
    """Two ways to fix the same pain, one at a time: the expensive one keeps slightly more revenue."""
    spec = spec_of([
        {"id": "cheap_fix", "owner": "o1", "cost": {"h1": 2_000.0, "h2": 0.0}, "fixes": {"p0": 0.60}},
        {"id": "gold_plated", "owner": "o2", "cost": {"h1": 60_000.0, "h2": 0.0}, "fixes": {"p0": 0.62}},
    ], budget={"h1": 100_000.0, "h2": 0.0}, max_initiatives=1)
    sim = simulate(spec)
    by_revenue = optimize(sim, solver="highs")
    by_value = optimize(sim, objective="value", solver="highs")
    assert by_revenue.selected_ids == ["gold_plated"]
    assert by_value.selected_ids == ["cheap_fix"]
    best, _, scores = brute_best(spec, sim)
    assert best == ("cheap_fix",)
    rev, _ = sim.evaluate([["cheap_fix"], ["gold_plated"]])
    assert rev[1].mean() > rev[0].mean()  # slightly more revenue ...
    assert scores[("gold_plated",)] < scores[("cheap_fix",)]  # ... but less value
    assert by_revenue.solver["objective_name"] == "revenue" and by_revenue.value is None


@pytest.mark.parametrize("risk", ["cvar:0.1:0.5", "cvar:0.25:1"])
def test_cvar_of_the_value_equals_brute_force(risk):
    """A sure modest fix against a long shot with large savings: the CVaR mix is taken of the value."""
    spec = spec_of([
        {"id": "sure", "owner": "o1", "cost": {"h1": 4_000.0, "h2": 0.0}, "fixes": {"p0": 0.3}},
        {"id": "long_shot", "owner": "o2", "cost": {"h1": 9_000.0, "h2": 0.0}, "fixes": {"p0": 0.5},
         "savings": 120_000.0, "success_probability": 0.5},
        {"id": "side", "owner": "o3", "cost": {"h1": 3_000.0, "h2": 1_000.0}, "fixes": {"p1": 0.5},
         "savings": {"h2": 2_000.0}, "success_probability": 0.8},
    ], budget={"h1": 14_000.0, "h2": 5_000.0}, max_initiatives=2)
    sim = simulate(spec)
    best, best_value, scores = brute_best(spec, sim, risk)
    for solver in ("highs", "cbc", "exhaustive"):
        r = optimize(sim, objective="value", risk=risk, solver=solver)
        assert set(r.selected_ids) == set(best), solver
        assert close(risk_value(r.value, risk), best_value)
    mean_best, _, _ = brute_best(spec, sim)
    if risk == "cvar:0.25:1":  # the instance does separate the mean from the CVaR of the value
        assert set(mean_best) != set(best)
    if risk == "cvar:0.25:1":
        # the instance catches a CVaR taken of the revenue with savings and costs added at their means:
        # that objective would choose another portfolio
        portfolios = feasible(spec)
        rev, _ = sim.evaluate([list(p) for p in portfolios])
        v = values_by_hand(spec, sim, portfolios)
        alpha, beta = 0.25, 1.0
        wrong = [(1 - beta) * v[i].mean() + beta * (MARGIN * cvar_by_hand(rev[i], alpha)
                                                     + (v[i] - MARGIN * rev[i]).mean())
                 for i in range(len(portfolios))]
        assert set(portfolios[int(np.argmax(wrong))]) != set(best)


def test_chance_constrained_value_ranks_by_expected_value(instance, instance_sim):
    target = parse_target("churn<=baseline-0.001", instance_sim.scenario)
    cons = Constraints.from_scenario(instance_sim.scenario)
    r = choose_with_targets(instance_sim, cons, targets=[target], confidence=0.6, objective="value")
    portfolios = feasible(instance)
    rev, cust = instance_sim.evaluate([list(p) for p in portfolios])
    base_rev, base_cust = instance_sim.evaluate([[]])
    churn = 1 - cust / instance_sim.n_customers
    met = (churn - (1 - base_cust[0] / instance_sim.n_customers)[None, :] <= -0.001).mean(axis=1) >= 0.6 - 1e-12
    v = values_by_hand(instance, instance_sim, portfolios).mean(axis=1)
    ok = [i for i in range(len(portfolios)) if met[i]]
    assert ok
    best = max(ok, key=lambda i: (v[i], -len(portfolios[i])))
    assert set(r.selected_ids) == set(portfolios[best])
    assert close(r.solver["exact"], v[best]) and r.objective_name == "value"
    by_revenue = choose_with_targets(instance_sim, cons, targets=[target], confidence=0.6, objective="revenue")
    assert set(by_revenue.selected_ids) == set(portfolios[max(ok, key=lambda i: (rev[i].mean(), -len(portfolios[i])))])


def test_frontier_by_value_equals_brute_force_at_each_budget(instance, instance_sim):
    scales = [0.2, 0.6, 1.0]
    base = sum(instance["budget"]["total"].values())
    results = frontier(instance_sim, [s * base for s in scales], objective="value", solver="highs")
    for s, r in zip(scales, results):  # per-period limits scale with the total
        _, best_value, scores = brute_best(instance, instance_sim, budget_scale=s)
        assert r is not None and r.objective_name == "value"
        assert close(scores[tuple(r.selected_ids)], best_value)


def test_binding_gains_are_in_value(instance, instance_sim):
    r = optimize(instance_sim, objective="value", solver="exhaustive", max_initiatives=1)
    study = binding(r, solver="exhaustive")
    assert study["objective"] == "value"
    row = next(x for x in study["limits"] if x["limit"] == "max_initiatives")
    assert row["objective"] == "value"
    _, here, _ = brute_best(instance, instance_sim, max_initiatives=1)
    _, relaxed, _ = brute_best(instance, instance_sim, max_initiatives=2)
    assert close(row["gain_if_relaxed"], relaxed - here)
    budget = next(x for x in study["limits"] if x["limit"] == "budget:h1")
    _, relaxed_h1, _ = brute_best({**instance, "budget": {**instance["budget"], "total": {
        "h1": 1.1 * instance["budget"]["total"]["h1"], "h2": instance["budget"]["total"]["h2"]},
        "max_initiatives": 1}}, instance_sim)
    assert close(budget["gain_if_relaxed"], max(relaxed_h1 - here, 0.0))


def test_no_margin_counts_revenue_at_one():
    spec = spec_of([{"id": "a", "owner": "o1", "cost": {"h1": 1_000.0, "h2": 0.0}, "fixes": {"p0": 0.5},
                     "savings": 6_000.0}],
                   budget={"h1": 5_000.0, "h2": 0.0}, max_initiatives=1, margin=None)
    sim = simulate(spec)
    r = optimize(sim, objective="value", solver="exhaustive")
    rev, _ = sim.evaluate([list(r.selected)])
    want = rev[0] + (savings_by_hand(spec, sim)["a"] - 1_000.0 if r.selected else 0.0)
    np.testing.assert_allclose(r.value, want, rtol=1e-12)
    assert r.solver["margin"] == 1.0


def test_cost_is_not_an_objective_without_a_target(instance_sim):
    with pytest.raises(ArgumentError) as exc:
        optimize(instance_sim, objective="cost")
    assert exc.value.problems[0].path == "objective"
    with pytest.raises(ArgumentError):
        optimize(instance_sim, objective="profit")
