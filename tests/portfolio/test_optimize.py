"""Choosing the portfolio (DESIGN.md section 2).

The reference is brute force, written here from the rules of section 2 and independent of
:mod:`cxopt.portfolio.search`: enumerate every selection of initiatives, keep those that obey every
rule (focus limit, budget, owner capacity, exclusions, prerequisites, must and forbid), and
evaluate each exactly on the simulation's draws (``Simulation.evaluate``). The integer
program (standalone gains plus pairwise interactions, then exact re-evaluation of the best
distinct solutions) must land on the same value, with HiGHS and with CBC; where the rules
admit no portfolio, both must say so and name the rules that clash.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxopt
from cxopt.errors import ArgumentError
from cxopt.portfolio.backends.highs import HighsBackend
from cxopt.portfolio.frontier import frontier
from cxopt.portfolio.result import SolveOutcome
from cxopt.portfolio.search import (
    STATUS_ERROR,
    STATUS_FEASIBLE,
    STATUS_INFEASIBLE,
    STATUS_OPTIMAL,
    Constraints,
    InfeasibleError,
    SolverError,
    cvar,
    optimize,
    risk_value,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CUSTOMERS = 2_000
TRIALS = 200
STATUS_WORDS = {STATUS_OPTIMAL, STATUS_FEASIBLE, STATUS_INFEASIBLE, STATUS_ERROR}
assert STATUS_WORDS == {"optimal", "feasible_not_proven", "infeasible", "error"}

PROPERTY = settings(deadline=None, max_examples=25, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------------------
# instances
# --------------------------------------------------------------------------------------
def scenario_dict(pains, initiatives, *, budget=None, max_initiatives=5, owner_capacity=1,
                  exclusive=(), requires=None, must=(), forbid=(), trials=TRIALS, seed=11):
    out = {
        "scenario": {"name": "optimiser under test", "trials": trials, "seed": seed, "horizon_months": 12},
        "customers": {"count": CUSTOMERS, "revenue": {"dist": "lognormal", "median": 600.0, "sigma": 0.6},
                      "baseline_churn": {"dist": "beta", "mean": 0.06, "sd": 0.02}, "exposure_correlation": 0.2},
        "market": {"churn_multiplier": {"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.1}},
        "pain_points": pains,
        "initiatives": initiatives,
        "budget": {"max_initiatives": max_initiatives, "owner_capacity": owner_capacity},
        "constraints": {"exclusive": [list(p) for p in exclusive], "requires": dict(requires or {}),
                        "must": list(must), "forbid": list(forbid)},
    }
    if budget is not None:
        out["budget"]["total"] = budget
    return out


def pain(id, volume=0.3, low=0.05, high=0.2):
    severity = low if low == high else {"dist": "uniform", "low": low, "high": high}
    return {"id": id, "volume": volume, "severity": severity}


def initiative(id, fixes, *, cost=100.0, owner=None, q=1.0, months=0):
    return {"id": id, "owner": owner or f"owner of {id}", "cost": cost, "fixes": fixes,
            "success_probability": q, "months_to_impact": months}


@st.composite
def instances(draw):
    """A small random portfolio problem: 4-7 initiatives, shared owners, every kind of rule."""
    n_pains = draw(st.integers(2, 3))
    pains = [pain(f"pain{j}", volume=draw(st.sampled_from([0.15, 0.25, 0.35, 0.5])),
                  low=draw(st.sampled_from([0.02, 0.05, 0.1])), high=draw(st.sampled_from([0.2, 0.3])))
             for j in range(n_pains)]
    K = draw(st.integers(4, 7))
    ids = [f"init{k}" for k in range(K)]
    n_owners = draw(st.integers(max(2, K - 3), K - 1))  # fewer owners than initiatives: some share one
    inits = []
    for k in range(K):
        acts_on = draw(st.lists(st.integers(0, n_pains - 1), min_size=1, max_size=2, unique=True))
        fixes = {}
        for j in acts_on:
            low = draw(st.sampled_from([0.1, 0.3, 0.5, 0.7]))
            fixes[f"pain{j}"] = {"dist": "uniform", "low": low, "high": min(low + 0.25, 1.0)}
        inits.append(initiative(ids[k], fixes, cost=float(draw(st.integers(1, 20)) * 10),
                                owner=f"owner{draw(st.integers(0, n_owners - 1))}",
                                q=draw(st.sampled_from([0.6, 0.9, 1.0])), months=draw(st.integers(0, 6))))
    pairs = list(itertools.combinations(range(K), 2))
    exclusive = draw(st.lists(st.sampled_from(pairs), max_size=1))
    req = draw(st.lists(st.sampled_from([(a, b) for a in range(K) for b in range(K) if a != b]),
                        max_size=2, unique=True))
    requires: dict[str, list[str]] = {}
    for a, b in req:
        requires.setdefault(ids[a], []).append(ids[b])
    must = draw(st.lists(st.integers(0, K - 1), max_size=1))
    forbid = draw(st.lists(st.integers(0, K - 1).filter(lambda k: k not in must), max_size=1))
    total = sum(i["cost"] for i in inits)
    budget = float(draw(st.integers(int(0.2 * total), int(total))))
    return scenario_dict(pains, inits, budget=budget, max_initiatives=draw(st.integers(2, 4)),
                         owner_capacity=draw(st.sampled_from([1, 1, 2])), exclusive=[(ids[a], ids[b]) for a, b in exclusive],
                         requires=requires, must=[ids[k] for k in must], forbid=[ids[k] for k in forbid])


# --------------------------------------------------------------------------------------
# the independent reference
# --------------------------------------------------------------------------------------
def obeys_rules(spec: dict, chosen: set[str]) -> bool:
    """Section 2's rules, read straight off the scenario dict."""
    inits = {i["id"]: i for i in spec["initiatives"]}
    b, c = spec["budget"], spec["constraints"]
    if len(chosen) > b["max_initiatives"]:
        return False
    if "total" in b and sum(inits[k]["cost"] for k in chosen) > b["total"]:
        return False
    owners = [inits[k]["owner"] for k in chosen]
    if any(owners.count(o) > b["owner_capacity"] for o in owners):
        return False
    if any(len(chosen & set(group)) > 1 for group in c["exclusive"]):
        return False
    for a, needs in c["requires"].items():
        for n in [needs] if isinstance(needs, str) else needs:
            if a in chosen and n not in chosen:
                return False
    return set(c["must"]) <= chosen and not (set(c["forbid"]) & chosen)


def all_feasible(spec: dict) -> list[tuple[str, ...]]:
    ids = [i["id"] for i in spec["initiatives"]]
    return [combo for r in range(len(ids) + 1) for combo in itertools.combinations(ids, r)
            if obeys_rules(spec, set(combo))]


def brute_force_best(sim, spec: dict, objective: str = "mean") -> tuple[tuple[str, ...], float, list]:
    """The best feasible portfolio by exact evaluation of every one of them."""
    portfolios = all_feasible(spec)
    rev, _ = sim.evaluate([list(p) for p in portfolios])
    values = [risk_value(rev[i], objective) for i in range(len(portfolios))]
    best = int(np.argmax(values))
    return portfolios[best], values[best], list(zip(portfolios, values))


def pairwise_estimates(sim, portfolios) -> list[float]:
    """The integer program's objective, by hand: baseline + standalone gains + pairwise interactions."""
    K = len(sim.initiative_ids)
    pairs = list(itertools.combinations(range(K), 2))
    rev, _ = sim.evaluate([[]] + [[k] for k in range(K)] + [list(p) for p in pairs])
    base, single = rev[0].mean(), rev[1: K + 1].mean(axis=1)
    w = {p: rev[K + 1 + q].mean() - single[p[0]] - single[p[1]] + base for q, p in enumerate(pairs)}
    out = []
    for p in portfolios:
        ks = sorted(sim.index_of(k) for k in p)
        out.append(base + sum(single[k] - base for k in ks) + sum(w[q] for q in itertools.combinations(ks, 2)))
    return out


def exact_value(sim, selected_ids, objective: str = "mean") -> float:
    rev, _ = sim.evaluate([list(selected_ids)])
    return risk_value(rev[0], objective)


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def simulate(spec: dict, trials: int = TRIALS, seed: int = 5):
    sc = cxopt.parse_scenario(spec, source="optimize-test.toml")
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=CUSTOMERS), trials=trials, seed=seed)


# --------------------------------------------------------------------------------------
# the optimum, against brute force
# --------------------------------------------------------------------------------------
def check_solver_matches_brute_force(spec: dict, solver: str) -> None:
    sim = simulate(spec)
    feasible = all_feasible(spec)
    if not feasible:
        with pytest.raises(InfeasibleError) as info:
            optimize(sim, solver=solver)
        assert info.value.conflicts
        return
    result = optimize(sim, solver=solver)
    assert result.constraints.violations(result.selected) == []
    assert obeys_rules(spec, set(result.selected_ids))
    best, best_value, _ = brute_force_best(sim, spec)
    got = exact_value(sim, result.selected_ids)
    assert close(got, best_value), (result.selected_ids, got, best, best_value)
    # the portfolio's reported per-trial values are that portfolio's exact values
    np.testing.assert_allclose(result.revenue, sim.evaluate([result.selected_ids])[0][0], rtol=1e-12)
    assert result.solver["name"] == solver
    # the program itself is solved to optimality: its first answer has the best pairwise estimate
    estimates = pairwise_estimates(sim, feasible)
    first = result.candidates[0]
    assert close(first.estimate, max(estimates), rel=1e-9), (first, max(estimates))
    seen = [c.estimate for c in result.candidates]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(seen, seen[1:]))  # no-good cuts walk down the ranking
    assert len({c.selected for c in result.candidates}) == len(result.candidates)


@PROPERTY
@given(instances())
def test_highs_portfolio_is_feasible_and_matches_the_exhaustive_optimum(spec):
    check_solver_matches_brute_force(spec, "highs")


@settings(PROPERTY, max_examples=5)
@given(instances())
def test_cbc_portfolio_is_feasible_and_matches_the_exhaustive_optimum(spec):
    check_solver_matches_brute_force(spec, "cbc")


@settings(PROPERTY, max_examples=10)
@given(instances())
def test_exhaustive_solver_matches_brute_force(spec):
    sim = simulate(spec)
    if not all_feasible(spec):
        with pytest.raises(InfeasibleError):
            optimize(sim, solver="exhaustive")
        return
    result = optimize(sim, solver="exhaustive")
    _, best_value, _ = brute_force_best(sim, spec)
    assert close(exact_value(sim, result.selected_ids), best_value)


@settings(PROPERTY, max_examples=40)
@given(instances(), st.data())
def test_violations_agree_with_the_rules(spec, data):
    sc = cxopt.parse_scenario(spec, source="optimize-test.toml")
    cons = Constraints.from_scenario(sc)
    ids = list(cons.ids)
    chosen = data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    assert (cons.violations([ids.index(k) for k in chosen]) == []) == obeys_rules(spec, set(chosen))


def make_infeasible(spec: dict, how: int, a: int, b: int) -> dict:
    """Inject a clash into a random instance: obvious ones and ones only a solver finds."""
    spec = {**spec, "budget": dict(spec["budget"]),
            "constraints": {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in spec["constraints"].items()}}
    ids = [i["id"] for i in spec["initiatives"]]
    cost = {i["id"]: i["cost"] for i in spec["initiatives"]}
    cons = spec["constraints"]
    cons["forbid"] = []
    cons["requires"] = {}
    cons["exclusive"] = []
    ka, kb = ids[a], ids[b]
    if how == 0:  # must-include over budget
        cons["must"] = [ka]
        spec["budget"]["total"] = cost[ka] - 5
    elif how == 1:  # must requires a forbidden initiative
        cons["must"], cons["requires"], cons["forbid"] = [ka], {ka: [kb]}, [kb]
    elif how == 2:  # two exclusive musts
        cons["must"], cons["exclusive"] = [ka, kb], [[ka, kb]]
    elif how == 3:  # must requires one it excludes
        cons["must"], cons["requires"], cons["exclusive"] = [ka], {ka: [kb]}, [[ka, kb]]
    else:  # must and its prerequisite fit the budget only one at a time
        cons["must"], cons["requires"] = [ka], {ka: [kb]}
        spec["budget"]["total"] = max(cost[ka], cost[kb]) + 1
        spec["budget"]["max_initiatives"] = 4
    return spec


@settings(PROPERTY, max_examples=10)
@given(instances(), st.integers(0, 4), st.data())
def test_infeasible_instances_raise_for_both_solvers(spec, how, data):
    K = len(spec["initiatives"])
    a = data.draw(st.integers(0, K - 1))
    b = data.draw(st.integers(0, K - 1).filter(lambda k: k != a))
    spec = make_infeasible(spec, how, a, b)
    assert all_feasible(spec) == []  # the reference agrees there is no portfolio
    sim = simulate(spec, trials=20)
    for solver in ("highs", "cbc"):
        with pytest.raises(InfeasibleError) as info:
            optimize(sim, solver=solver)
        assert info.value.conflicts, solver


# --------------------------------------------------------------------------------------
# interactions: why standalone gains are not enough
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def overlapping():
    """Two strong fixes for the same pain and a weaker one for another pain; room for two.

    Alone, strong_a and strong_b are the two best; together the second removes only what
    the first left (1 - 0.1 x 0.15 of the pain's churn, not 0.9 + 0.85).
    """
    spec = scenario_dict(
        [pain("billing_error", volume=0.3, low=0.3, high=0.3), pain("slow_repair", volume=0.3, low=0.2, high=0.2)],
        [initiative("strong_a", {"billing_error": 0.9}, cost=100.0),
         initiative("strong_b", {"billing_error": 0.85}, cost=100.0),
         initiative("weaker_c", {"slow_repair": 0.8}, cost=100.0)],
        budget=200.0, max_initiatives=2)
    return spec, simulate(spec, trials=50)


def test_interactions_steer_away_from_two_fixes_for_the_same_pain(overlapping):
    spec, sim = overlapping
    standalone = sim.single_revenue.mean(axis=1) - sim.baseline_revenue.mean()
    ids = sim.initiative_ids
    additive_pair = {ids[k] for k in np.argsort(-standalone)[:2]}
    assert additive_pair == {"strong_a", "strong_b"}
    best, best_value, _ = brute_force_best(sim, spec)
    for solver in ("highs", "cbc"):
        result = optimize(sim, solver=solver)
        assert set(result.selected_ids) == set(best), solver
        assert set(result.selected_ids) != additive_pair
        assert close(exact_value(sim, result.selected_ids), best_value)
    assert set(best) == {"strong_a", "weaker_c"}


def test_the_pair_sharing_a_pain_has_a_negative_interaction(overlapping):
    _, sim = overlapping
    w = sim.interaction()
    a, b = sim.index_of("strong_a"), sim.index_of("strong_b")
    assert w[(a, b)].mean() < 0


# --------------------------------------------------------------------------------------
# the risk-averse objective
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.25, 0.5, 1.0])
def test_cvar_is_the_mean_of_the_worst_alpha_share_of_trials(alpha):
    values = np.random.default_rng(3).lognormal(10.0, 0.5, size=200)
    n_worst = round(alpha * values.size)
    assert math.isclose(n_worst, alpha * values.size)
    brute = np.mean(sorted(values)[:n_worst])
    assert math.isclose(cvar(values, alpha), brute, rel_tol=1e-12)


def test_cvar_of_the_whole_sample_is_its_mean():
    values = np.random.default_rng(4).normal(size=80)
    assert math.isclose(cvar(values, 1.0), values.mean(), rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("alpha", [0.05, 0.3, 1.0])
def test_risk_value_with_beta_zero_is_the_mean(alpha):
    values = np.random.default_rng(5).lognormal(10.0, 0.5, size=200)
    assert math.isclose(risk_value(values, f"cvar:{alpha}:0"), values.mean(), rel_tol=1e-12)
    assert risk_value(values, "mean") == pytest.approx(values.mean(), rel=1e-12)


def test_risk_value_with_beta_one_is_the_cvar():
    values = np.random.default_rng(6).lognormal(10.0, 0.5, size=200)
    assert math.isclose(risk_value(values, "cvar:0.1:1"), np.mean(sorted(values)[:20]), rel_tol=1e-12)


@pytest.mark.parametrize("bad", ["cvar:0.1", "cvar:0:0.5", "cvar:0.1:1.5", "var:0.1:0.5", "cvar:x:0.5"])
def test_a_malformed_risk_objective_is_bad_input(bad):
    with pytest.raises(ArgumentError, match="^risk: "):
        risk_value(np.ones(10), bad)


@pytest.fixture(scope="module")
def gamble():
    """A sure, moderate fix against a coin-flip on a bigger one: the mean and the tail disagree."""
    spec = scenario_dict(
        [pain("outage", volume=0.4, low=0.2, high=0.3), pain("hold", volume=0.4, low=0.2, high=0.3),
         pain("billing", volume=0.3, low=0.1, high=0.2)],
        [initiative("safe_fix", {"outage": 0.45}, cost=100.0),
         initiative("moonshot", {"hold": 1.0}, cost=100.0, q=0.6),
         initiative("small_fix", {"billing": {"dist": "uniform", "low": 0.05, "high": 0.15}}, cost=60.0)],
        budget=160.0, max_initiatives=2)
    return spec, simulate(spec, trials=100, seed=9)


RISK = "cvar:0.2:0.8"  # alpha * T = 20 trials


def test_risk_objective_chooses_the_exhaustive_optimum_under_that_objective(gamble):
    spec, sim = gamble
    best, best_value, table = brute_force_best(sim, spec, RISK)
    mean_best, _, _ = brute_force_best(sim, spec, "mean")
    assert set(best) != set(mean_best)  # the instance does separate the objectives
    for solver in ("highs", "exhaustive"):
        result = optimize(sim, risk=RISK, solver=solver)
        assert result.objective == RISK
        assert close(exact_value(sim, result.selected_ids, RISK), best_value), (solver, result.selected_ids, table)
        assert set(result.selected_ids) == set(best)
    assert set(optimize(sim).selected_ids) == set(mean_best)


# --------------------------------------------------------------------------------------
# infeasibility: the diagnosis names what clashes
# --------------------------------------------------------------------------------------
FOUR = [initiative("alpha_fix", {"p1": 0.5}, cost=300.0, owner="Head of Billing"),
        initiative("beta_fix", {"p1": 0.4}, cost=300.0, owner="Head of Billing"),
        initiative("gamma_fix", {"p2": 0.5}, cost=200.0, owner="Head of Network"),
        initiative("delta_fix", {"p2": 0.3}, cost=100.0, owner="Head of Sales")]
PAINS = [pain("p1"), pain("p2")]


def conflicts_of(spec: dict, solver: str = "highs") -> list[str]:
    sim = simulate(spec, trials=10)
    with pytest.raises(InfeasibleError) as info:
        optimize(sim, solver=solver)
    assert info.value.conflicts
    return info.value.conflicts


def mentions(conflicts: list[str], *ids: str) -> bool:
    return any(all(k in c for k in ids) for c in conflicts)


@pytest.mark.parametrize("solver", ["highs", "exhaustive"])
def test_diagnosis_must_include_over_budget(solver):
    spec = scenario_dict(PAINS, FOUR, budget=450.0, must=["alpha_fix", "gamma_fix"])
    c = conflicts_of(spec, solver)
    assert mentions(c, "alpha_fix", "gamma_fix"), c
    assert any("budget" in x for x in c), c


def test_diagnosis_must_requires_a_forbidden_initiative():
    spec = scenario_dict(PAINS, FOUR, must=["gamma_fix"], requires={"gamma_fix": "delta_fix"}, forbid=["delta_fix"])
    c = conflicts_of(spec)
    assert mentions(c, "gamma_fix", "delta_fix"), c


def test_diagnosis_must_requires_a_forbidden_initiative_through_a_chain():
    spec = scenario_dict(PAINS, FOUR, must=["gamma_fix"], requires={"gamma_fix": "alpha_fix", "alpha_fix": "delta_fix"},
                         forbid=["delta_fix"])
    c = conflicts_of(spec)
    assert mentions(c, "gamma_fix", "delta_fix"), c


def test_diagnosis_two_exclusive_musts():
    spec = scenario_dict(PAINS, FOUR, must=["gamma_fix", "delta_fix"], exclusive=[("gamma_fix", "delta_fix")])
    c = conflicts_of(spec)
    assert mentions(c, "gamma_fix", "delta_fix"), c


def test_diagnosis_more_musts_than_the_focus_limit_names_them():
    spec = scenario_dict(PAINS, FOUR, max_initiatives=2, must=["alpha_fix", "gamma_fix", "delta_fix"])
    c = conflicts_of(spec)
    assert any("at most 2" in x for x in c), c
    assert mentions(c, "alpha_fix", "gamma_fix", "delta_fix"), c


def test_diagnosis_more_musts_than_the_focus_limit_is_reported():
    spec = scenario_dict(PAINS, FOUR, max_initiatives=2, must=["alpha_fix", "gamma_fix", "delta_fix"])
    c = conflicts_of(spec)
    assert any("3" in x and "2" in x for x in c), c


def test_diagnosis_owner_capacity_names_the_initiatives():
    spec = scenario_dict(PAINS, FOUR, must=["alpha_fix", "beta_fix"])
    c = conflicts_of(spec)
    assert mentions(c, "alpha_fix", "beta_fix"), c


def test_diagnosis_owner_capacity_names_the_owner():
    spec = scenario_dict(PAINS, FOUR, must=["alpha_fix", "beta_fix"])
    c = conflicts_of(spec)
    assert any("Head of Billing" in x and "capacity" in x for x in c), c


def test_diagnosis_when_no_single_rule_is_obviously_to_blame():
    # gamma needs alpha; together they cost 500 > 450, each alone fits
    spec = scenario_dict(PAINS, FOUR, budget=450.0, must=["gamma_fix"], requires={"gamma_fix": "alpha_fix"})
    c = conflicts_of(spec)
    assert any("budget" in x for x in c) and any("requires" in x for x in c), c


# --------------------------------------------------------------------------------------
# solver status
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    spec = scenario_dict([pain("p1"), pain("p2")], FOUR, budget=500.0, max_initiatives=2)
    return spec, simulate(spec, trials=40)


@pytest.mark.parametrize("solver", ["highs", "cbc", "exhaustive", "auto"])
def test_solver_info_reports_name_status_and_seconds(small, solver):
    _, sim = small
    info = optimize(sim, solver=solver).solver
    assert info["name"] in {"highs", "cbc", "exhaustive"}
    assert info["name"] == (solver if solver != "auto" else "highs")
    assert info["status"] in STATUS_WORDS - {STATUS_INFEASIBLE, STATUS_ERROR}
    assert isinstance(info["seconds"], float) and info["seconds"] >= 0
    if info["name"] != "exhaustive":
        assert 0 <= info["first_solve_seconds"] <= info["solve_seconds"] <= info["seconds"]


@pytest.mark.parametrize("risk", [None, "cvar:0.2:0.5"])
def test_auto_ranks_a_small_program_and_takes_the_solvers_walk(small, risk, monkeypatch):
    """solver="auto" ranks a program with few feasible portfolios outright (backends/ranked.py) and
    says so; the walk takes the same candidates, in the same order, as HiGHS's and CBC's solves, and
    the same portfolio brute force gives. Above the ranking's limit auto solves with HiGHS."""
    _, sim = small
    auto = optimize(sim, solver="auto", risk=risk)
    assert auto.solver["name"] == "highs" and auto.solver["program_solved_by"] == "ranked"
    assert auto.solver["proven_optimal"] == optimize(sim, solver="highs", risk=risk).solver["proven_optimal"]
    for solver in ("highs", "cbc"):
        other = optimize(sim, solver=solver, risk=risk)
        assert "program_solved_by" not in other.solver
        assert [c.selected for c in other.candidates] == [c.selected for c in auto.candidates]
    assert auto.selected == optimize(sim, solver="exhaustive", risk=risk).selected
    monkeypatch.setattr("cxopt.portfolio.backends.ranked.RANKED_LIMIT", 2)
    assert "program_solved_by" not in optimize(sim, solver="auto", risk=risk).solver


def test_a_tight_time_limit_gives_a_feasible_portfolio_or_a_clear_error(small):
    spec, sim = small
    try:
        result = optimize(sim, solver="highs", time_limit=0.001)
    except SolverError as exc:  # stopped before any incumbent: say what to do next
        assert "time_limit" in str(exc)
        return
    assert result.solver["status"] in {STATUS_OPTIMAL, STATUS_FEASIBLE}
    assert obeys_rules(spec, set(result.selected_ids))


def _stop_early_from(monkeypatch, call: int, word: str) -> None:
    """Make solve number ``call`` (1-based) and later ones end as a time limit would."""
    real, calls = HighsBackend.solve_problem, [0]

    def solve_problem(self, problem, time_limit):
        calls[0] += 1
        outcome = real(self, problem, time_limit)
        if calls[0] < call or outcome.status != STATUS_OPTIMAL:
            return outcome
        return SolveOutcome(word, seconds=outcome.seconds) if word == STATUS_ERROR else replace(outcome, status=word)

    monkeypatch.setattr(HighsBackend, "solve_problem", solve_problem)


def test_a_first_solve_stopped_by_the_time_limit_is_not_called_optimal(small, monkeypatch):
    _, sim = small
    _stop_early_from(monkeypatch, 1, STATUS_FEASIBLE)
    result = optimize(sim, solver="highs")
    assert result.solver["status"] == STATUS_FEASIBLE
    assert result.solver["proven_optimal"] is False


@pytest.mark.parametrize("word", [
    STATUS_FEASIBLE,
    STATUS_ERROR,
])
def test_a_later_solve_stopped_by_the_time_limit_is_not_called_optimal(small, monkeypatch, word):
    _, sim = small
    _stop_early_from(monkeypatch, 2, word)
    result = optimize(sim, solver="highs")
    assert result.solver["status"] == STATUS_FEASIBLE
    assert result.solver["proven_optimal"] is False


# the status maps of the backends: tests/portfolio/test_backends.py


# --------------------------------------------------------------------------------------
# the budget frontier
# --------------------------------------------------------------------------------------
def test_frontier_value_never_falls_as_the_budget_grows(small):
    _, sim = small
    budgets = [0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 700.0, 900.0]
    results = frontier(sim, budgets)
    assert all(r is not None for r in results)
    values = [float(r.revenue.mean()) for r in results]
    assert all(b >= a * (1 - 1e-12) for a, b in zip(values, values[1:])), values
    assert results[0].selected == ()
    for b, r in zip(budgets, results):
        assert r.total_cost <= b


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_the_frontier_on_one_model_equals_solving_each_budget_from_scratch(small, solver):
    _, sim = small
    budgets = [900.0, 0.0, 100.0, 300.0, 250.0, 500.0]  # down and up: cuts dropped, RHS moved both ways
    swept = frontier(sim, budgets, solver=solver)
    base = Constraints.from_scenario(sim.scenario)
    for b, r in zip(budgets, swept):
        fresh = optimize(sim, constraints=base.with_budget(b), solver=solver)
        assert r.selected == fresh.selected, b
        assert r.solver["exact"] == fresh.solver["exact"]


def test_frontier_gives_none_where_no_portfolio_fits(small):
    spec, _ = small
    spec = {**spec, "constraints": {**spec["constraints"], "must": ["gamma_fix"]}}  # costs 200
    sim = simulate(spec, trials=40)
    results = frontier(sim, [0.0, 150.0, 200.0, 600.0])
    assert results[0] is None and results[1] is None
    assert results[2] is not None and results[2].selected_ids == ["gamma_fix"]
    assert "gamma_fix" in results[3].selected_ids


# --------------------------------------------------------------------------------------
# the shipped examples
# --------------------------------------------------------------------------------------
def test_the_b2b_example_has_usable_constraints():
    # once a bug: the example validated, then optimize rejected a plain cost against its per-period budget
    sc = cxopt.load_scenario(SCENARIOS / "b2b_software.toml")
    cons = Constraints.from_scenario(sc)
    assert cons.periods == ("h1", "h2")
    assert cons.must == frozenset({sc.initiative_ids.index("renewal_notice")})


def test_a_plain_cost_against_a_per_period_budget_fails_validation_not_optimisation():
    spec = scenario_dict([pain("p1")], [initiative("a_fix", {"p1": 0.5}, cost=100.0)], budget={"h1": 50.0, "h2": 50.0})
    with pytest.raises(cxopt.ScenarioError, match=r"initiatives\[0\]\.cost"):
        cxopt.parse_scenario(spec, source="optimize-test.toml")


def test_a_budget_per_period_binds_each_period():
    # a and b together fit the total (300 <= 400) but not the first half-year (300 > 200)
    spec = scenario_dict(
        [pain("p1"), pain("p2"), pain("p3")],
        [initiative("a_fix", {"p1": 0.6}, cost={"h1": 150.0, "h2": 0.0}),
         initiative("b_fix", {"p2": 0.6}, cost={"h1": 150.0}),
         initiative("c_fix", {"p3": 0.1}, cost={"h2": 100.0})],
        budget={"h1": 200.0, "h2": 200.0})
    sim = simulate(spec, trials=30)
    for solver in ("highs", "cbc", "exhaustive"):
        result = optimize(sim, solver=solver)
        spend = result.cost_by_period()
        assert spend["h1"] <= 200.0 and spend["h2"] <= 200.0
        assert not {"a_fix", "b_fix"} <= set(result.selected_ids)
        assert "c_fix" in result.selected_ids


# --------------------------------------------------------------------------------------
# the stopping rule, measured (the 500-instance run: benchmarks/bench_search_quality.py)
# --------------------------------------------------------------------------------------
def test_the_default_walk_loses_at_most_a_tenth_of_a_percent_on_30_random_instances():
    from cxopt.portfolio.backends import backend_for
    from tests.portfolio.random_instances import search_loss

    backend = backend_for("auto")
    losses = [search_loss(seed, backend)[0] for seed in range(30)]
    assert max(losses) <= 1e-3, max(losses)
