"""What binds by group tests (plan/relax.py): the same gains as one re-solve per limit.

Two references:

* where the program is exact (value tables with no simulation behind them, so that the pairwise
  program is the whole truth), brute force: every portfolio the rules with one limit relaxed allow
  (each limit written out here from its definition, not through ``Constraints``), valued on the
  tables; on seeded random instances, with the HiGHS and exhaustive backends, mean and CVaR;
* on a simulation (the program a pairwise surrogate), the per-limit study
  (:func:`binding_per_limit`, the route before group tests), on several sets of rules.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

import cxopt
from cxopt.errors import InfeasibleError
from cxopt.plan.binding import binding, binding_per_limit, relaxations
from cxopt.plan.relax import GroupStudy, Step, limit_steps, needed, relax
from cxopt.portfolio.backends import backend_for
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.model import PortfolioProblem, ValueTables
from cxopt.portfolio.risk import risk_value
from cxopt.portfolio.search import optimize

OWNERS = ("a", "b", "c", "d")


def random_instance(seed: int, objective: str = "mean") -> tuple[PortfolioProblem, Constraints] | None:
    """Random tables (standalone gains and pair interactions per trial) and random rules of every
    kind; None when no portfolio obeys the rules."""
    rng = np.random.default_rng(seed)
    K, T = int(rng.integers(5, 9)), 12
    gains = rng.normal(rng.uniform(-1.0, 5.0, K)[:, None], 1.0, (K, T))
    pairs = np.array([(a, b) for a, b in itertools.combinations(range(K), 2) if rng.random() < 0.4],
                     dtype=np.int64).reshape(-1, 2)
    w = rng.normal(rng.uniform(-2.5, 1.0, len(pairs))[:, None], 0.5, (len(pairs), T))
    tables = ValueTables(rng.normal(100.0, 1.0, T), gains, pairs, w)
    costs = rng.integers(1, 10, (K, 1)).astype(float)
    picks = rng.permutation(K)
    cons = Constraints(
        ids=tuple(f"i{k}" for k in range(K)), costs=costs, periods=("total",),
        budget=None if rng.random() < 0.2 else
        np.array([float(np.floor(costs.sum() * rng.uniform(0.25, 0.7))) + 0.5]),
        max_initiatives=int(rng.integers(1, K)), owners=tuple(OWNERS[int(i)] for i in rng.integers(0, 4, K)),
        owner_capacity=int(rng.integers(1, 3)),
        exclusive=((int(picks[0]), int(picks[1])),) if rng.random() < 0.5 else (),
        requires=((int(picks[2]), int(picks[3])),) if rng.random() < 0.5 else (),
        must=frozenset({int(picks[4])}) if rng.random() < 0.3 else frozenset(),
        forbid=frozenset({int(picks[0])}) if rng.random() < 0.3 else frozenset(),
    )
    problem = PortfolioProblem(tables, cons, objective)
    if not any(obeys(p, cons) for p in subsets(K)):
        return None
    return problem, cons


def subsets(K: int, most: int | None = None):
    """Every portfolio of at most ``most`` (default all) of ``K`` candidates."""
    most = K if most is None else min(K, most)
    return [c for r in range(most + 1) for c in itertools.combinations(range(K), r)]


def obeys(p, cons: Constraints, relaxed: tuple[str, object] | None = None) -> bool:
    """Every rule written out from its definition; ``relaxed``: that one limit one step looser."""
    kind, key = relaxed or (None, None)
    s = set(p)
    if cons.budget is not None:
        limit = cons.budget[0] * (1.1 if kind == "budget" else 1.0)
        if cons.costs[sorted(s), 0].sum() > limit + 1e-9:
            return False
    if len(s) > cons.max_initiatives + (kind == "max_initiatives"):
        return False
    for owner in set(cons.owners):
        if sum(cons.owners[k] == owner for k in s) > cons.owner_capacity + (kind == "owner" and key == owner):
            return False
    for i, group in enumerate(cons.exclusive):
        if len(s & set(group)) > 1 and not (kind == "exclusive" and key == i):
            return False
    for i, (a, b) in enumerate(cons.requires):
        if a in s and b not in s and not (kind == "requires" and key == i):
            return False
    if any(k not in s for k in cons.must if not (kind == "must" and key == k)):
        return False
    return not any(k in s for k in cons.forbid if not (kind == "forbid" and key == k))


def value(problem: PortfolioProblem, p) -> float:
    return risk_value(problem.tables.revenue(sorted(p)), problem.objective)


def brute_force(problem: PortfolioProblem, cons: Constraints, relaxed=None) -> float:
    # no allowed portfolio holds more than the focus limit (one more when that limit is relaxed)
    most = cons.max_initiatives + 1
    return max(value(problem, p) for p in subsets(len(cons.ids), most) if obeys(p, cons, relaxed))


def study_of(problem, cons, solver, here):
    steps = [step for _, _, step in limit_steps(cons, ()) if step is not None]
    study = GroupStudy(problem, backend_for(solver), here, lambda sel: problem.exact_values([sel])[0])
    return steps, study


@pytest.mark.parametrize("objective", ["mean", "cvar:0.25:0.5"])
@pytest.mark.parametrize("solver", ["highs", "exhaustive"])
def test_group_tests_give_the_brute_force_gain_of_every_limit_where_the_program_is_exact(solver, objective):
    checked = searched = limits = 0
    for seed in range(30 if objective == "mean" else 12):
        made = random_instance(seed, objective)
        if made is None:
            continue
        problem, cons = made
        assert problem.program_is_exact
        here = brute_force(problem, cons)
        steps, study = study_of(problem, cons, solver, here)
        answers = study.run(cons, steps)
        for step, (best, sel) in zip(steps, answers):
            want = brute_force(problem, cons, (step.kind, step.key))
            assert best - here == pytest.approx(want - here, abs=1e-9 * abs(here)), (seed, step)
            if sel is not None:  # the portfolio reported obeys the relaxed rules and is worth that much
                assert obeys(sel, cons, (step.kind, step.key)) and value(problem, sel) == pytest.approx(best)
            # one re-solve per limit (the route before) gives the same
            assert study.single(relax(cons, [step]))[0] == pytest.approx(best, abs=1e-9 * abs(here))
            checked += 1
        searched += study.searches - len(steps)  # the singles above are not the group study's
        limits += len(steps)
    assert checked > 50
    # on instances this small most limits bind; group tests then cost at most a probe per limit more
    assert searched <= 2 * limits


def test_one_group_test_clears_every_owner_that_cannot_gain():
    """Eight owners of two initiatives each (capacity one): every second initiative is worth nothing,
    so relaxing any owner gains nothing; the focus limit binds. One probe clears all eight owners."""
    K, T = 16, 8
    gains = np.zeros((K, T))
    gains[0::2] = np.arange(1.0, 9.0)[:, None] + np.linspace(0, 0.1, T)[None, :]
    tables = ValueTables(np.full(T, 50.0), gains, np.zeros((0, 2), dtype=np.int64), np.zeros((0, T)))
    cons = Constraints(ids=tuple(f"i{k}" for k in range(K)), costs=np.ones((K, 1)), periods=("total",),
                       budget=None,
                       max_initiatives=4, owners=tuple(f"o{k // 2}" for k in range(K)), owner_capacity=1,
                       exclusive=(), requires=(), must=frozenset(), forbid=frozenset())
    problem = PortfolioProblem(tables, cons)
    here = brute_force(problem, cons)
    steps, study = study_of(problem, cons, "highs", here)
    answers = study.run(cons, steps)
    assert len(steps) == 9
    gains_found = {(s.kind, s.key): best - here for s, (best, _) in zip(steps, answers)}
    assert gains_found.pop(("max_initiatives", None)) == pytest.approx(4.05)  # the fifth-best, 4 + mean ramp
    assert all(g == 0.0 for g in gains_found.values())
    assert study.searches <= 3  # all, the focus limit alone, the owners: not nine re-solves


def test_relax_applies_each_step_as_the_one_limit_study_does():
    cons = Constraints(ids=("x", "y", "z", "u"),
                       costs=np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 0.0], [1.0, 1.0]]),
                       periods=("h1", "h2"), budget=np.array([4.0, 2.0]), max_initiatives=2,
                       owners=("a", "a", "b", "b"), owner_capacity=1, exclusive=((0, 2), (1, 3)),
                       requires=((3, 0), (2, 1)), must=frozenset({1}), forbid=frozenset({2, 3}))
    rows = limit_steps(cons, (0, 1))
    for (name, slack, step), (name_, slack_, relaxed) in zip(rows, relaxations(cons, (0, 1))):
        assert (name, slack) == (name_, slack_)
        assert relaxed == [] or step is not None
    both = relax(cons, [Step("budget", 1), Step("owner", "a"), Step("exclusive", 0), Step("requires", 1),
                        Step("must", 1), Step("forbid", 3), Step("max_initiatives")])
    assert list(both.budget) == [4.0, pytest.approx(2.2)] and both.extra_slot == {"a"}
    assert both.exclusive == ((1, 3),) and both.requires == ((3, 0),)
    assert both.must == frozenset() and both.forbid == {2} and both.max_initiatives == 3
    assert list(cons.budget) == [4.0, 2.0]  # the plan's rules are not changed
    # which of a group's limits a portfolio needs: (0, 1, 3) is three initiatives (focus limit) with
    # two of owner a and the exclusion (1, 3)
    group = [Step("max_initiatives"), Step("owner", "a"), Step("exclusive", 1), Step("budget", 0)]
    assert needed(replace(cons, budget=None, requires=(), must=frozenset(), forbid=frozenset()),
                  group[:3], (0, 1, 3)) == [0, 1, 2]


# --------------------------------------------------------------------------------------
# on a simulation: the same answer as one re-solve per limit
# --------------------------------------------------------------------------------------
K = 6
SIM_OWNERS = ("Care", "Digital", "CMO")


@pytest.fixture(scope="module")
def sim():
    pains = [{"id": f"p{j}", "volume": 0.4, "severity": {"dist": "uniform", "low": 0.05, "high": 0.2}}
             for j in range(3)]
    inits = [{"id": f"i{k}", "owner": SIM_OWNERS[k % 3], "cost": 100.0 * (k + 1), "months_to_impact": k % 4,
              "success_probability": 0.9, "fixes": {f"p{k % 3}": {"dist": "uniform", "low": 0.2, "high": 0.6},
                                                    f"p{(k + 1) % 3}": 0.05 * (k + 1)}} for k in range(K)]
    sc = cxopt.parse_scenario({
        "scenario": {"trials": 24, "seed": 5},
        "customers": {"count": 400, "revenue": {"dist": "lognormal", "median": 800.0, "sigma": 0.5},
                      "baseline_churn": 0.05},
        "pain_points": pains, "initiatives": inits}, source="binding-groups-test.toml")
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=400), seed=4)


RULES = [
    dict(budget=None, max_initiatives=2, owner_capacity=1),
    dict(budget=900.0, max_initiatives=3, owner_capacity=1),
    dict(budget=1_500.0, max_initiatives=4, owner_capacity=1, exclusive=((0, 3),)),
    dict(budget=700.0, max_initiatives=5, owner_capacity=2, requires=((4, 1),)),
    dict(budget=2_000.0, max_initiatives=3, owner_capacity=1, must=frozenset({5}), forbid=frozenset({0})),
    dict(budget=None, max_initiatives=4, owner_capacity=2, exclusive=((1, 2),), requires=((3, 0),)),
]


@pytest.mark.parametrize("rules", RULES)
@pytest.mark.parametrize("objective", ["revenue", "value"])
def test_binding_equals_one_re_solve_per_limit_on_a_simulation(sim, rules, objective):
    base = Constraints.from_scenario(sim.scenario)
    budget = rules.pop("budget", None) if "budget" in rules else None
    cons = replace(base, budget=None if budget is None else np.array([budget]), **rules)
    rules["budget"] = budget
    try:
        result = optimize(sim, constraints=cons, objective=objective)
    except InfeasibleError:
        pytest.skip("no portfolio obeys these rules")
    stats: dict = {}
    after = binding(result, stats=stats)
    before = binding_per_limit(result)
    assert after == before
    assert stats["limits"] == sum(1 for _, _, relaxed in relaxations(cons, result.selected) if relaxed)


@pytest.mark.parametrize("objective", ["mean", "cvar:0.3:0.5"])
def test_a_long_list_is_probed_on_its_promising_candidates_with_the_same_gains(objective):
    """36 candidates (above the walk's reduction threshold): a probe walks on the candidates whose bound
    the rule does not rule out; the gains are still brute force's (focus limit 2, so 3 when relaxed)."""
    rng = np.random.default_rng(11)
    K, T = 36, 10
    gains = rng.normal(rng.gamma(1.0, 2.0, K)[:, None], 0.5, (K, T))
    pairs = np.array([(a, b) for a, b in itertools.combinations(range(K), 2) if rng.random() < 0.1],
                     dtype=np.int64).reshape(-1, 2)
    w = rng.normal(-0.5, 0.3, (len(pairs), T))
    tables = ValueTables(rng.normal(100.0, 1.0, T), gains, pairs, w)
    costs = rng.integers(1, 10, (K, 1)).astype(float)
    cons = Constraints(ids=tuple(f"i{k}" for k in range(K)), costs=costs, periods=("total",),
                       budget=np.array([12.5]),
                       max_initiatives=2, owners=tuple(f"o{k % 9}" for k in range(K)), owner_capacity=1,
                       exclusive=((0, 1), (2, 3)), requires=((4, 5),), must=frozenset(),
                       forbid=frozenset({6}))
    problem = PortfolioProblem(tables, cons, objective)
    here = brute_force(problem, cons)
    steps, study = study_of(problem, cons, "highs", here)
    answers = study.run(cons, steps)
    assert len(steps) == 15  # budget, focus limit, nine owners, two exclusions, a prerequisite, a forbid
    for step, (best, _) in zip(steps, answers):
        want = brute_force(problem, cons, (step.kind, step.key))
        assert best - here == pytest.approx(want - here, abs=1e-9 * abs(here)), step
    assert study.searches < len(steps)


@pytest.fixture(scope="module")
def long_sim():
    rng = np.random.default_rng(8)
    pains = [{"id": f"p{j}", "volume": 0.3, "severity": {"dist": "uniform", "low": 0.05, "high": 0.2}}
             for j in range(8)]
    inits = [{"id": f"i{k}", "owner": f"o{k % 12}", "cost": float(rng.integers(1, 10)) * 100.0,
              "months_to_impact": int(rng.integers(0, 4)), "success_probability": 0.9,
              "fixes": {f"p{int(j)}": float(np.round(rng.uniform(0.1, 0.6), 2))
                        for j in rng.choice(8, size=1 + int(rng.random() < 0.4), replace=False)}}
             for k in range(34)]
    sc = cxopt.parse_scenario({
        "scenario": {"trials": 16, "seed": 5},
        "customers": {"count": 300, "revenue": {"dist": "lognormal", "median": 800.0, "sigma": 0.5},
                      "baseline_churn": 0.05},
        "pain_points": pains, "initiatives": inits, "budget": {"total": 1_500.0}}, source="binding-long.toml")
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=300), seed=4)


@pytest.mark.parametrize("max_initiatives, risk", [(3, None), (5, None), (4, "cvar:0.25:0.5")])
def test_binding_equals_one_re_solve_per_limit_on_a_long_list(long_sim, max_initiatives, risk):
    result = optimize(long_sim, max_initiatives=max_initiatives, risk=risk)
    stats: dict = {}
    after = binding(result, stats=stats)
    assert after == binding_per_limit(result)
    assert stats["searches"] < stats["limits"]
