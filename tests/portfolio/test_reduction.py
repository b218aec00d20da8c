"""The walk on fewer candidates (cxopt.portfolio.reduction) and the ranked program (backends/ranked.py).

Checked against brute force on seeded random instances with every kind of rule: the bounds hold for
every candidate (the best portfolio holding it, found by enumeration, never beats its bound), the
ranking is the program's own order, the feasible matrix is the rules' enumeration, and the reduced
walk returns the same portfolios, in the same order, as the walk on every candidate.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cxopt.portfolio.backends import backend_for
from cxopt.portfolio.backends.exhaustive import feasible_portfolios
from cxopt.portfolio.backends.ranked import RankedProgram, RankedProgramBackend, feasible_matrix
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.model import PortfolioProblem, ValueTables
from cxopt.portfolio.reduction import candidate_bounds, restrict_constraints
from cxopt.portfolio.risk import cvar, risk_rows, risk_value, tail_weights
from cxopt.portfolio.search import no_good_walk

OBJECTIVES = ["mean", "cvar:0.2:0.5", "cvar:0.1:1.0"]


def instance(seed: int, objective: str = "mean", K: int | None = None, rules: bool = True,
             per_trial_pairs: bool | None = None, most: int = 5) -> PortfolioProblem:
    """K candidates (default 18-26), 40 trials, gains of very different sizes, overlapping pairs (30%), a budget,
    owners, a focus limit of 2 to ``most``, and (``rules``) an exclusion, a prerequisite chain, a must and a
    forbid; three-way terms that only the exact evaluation holds."""
    rng = np.random.default_rng(seed)
    K = K or int(rng.integers(18, 27))
    T = 40
    gains = rng.lognormal(np.log(10.0), 1.0, size=(K, 1)) * rng.uniform(0.3, 1.7, size=(K, T))
    pairs, inter = [], []
    for a, b in itertools.combinations(range(K), 2):
        if rng.random() < 0.3:
            scale = -0.4 if rng.random() < 0.7 else 0.3
            pairs.append((a, b))
            inter.append(scale * np.minimum(gains[a], gains[b]) * rng.uniform(0.2, 1.0, size=T))
    baseline = 1000.0 + rng.normal(0, 20, size=T)
    tables = ValueTables(baseline, gains, np.array(pairs, dtype=np.int64).reshape(-1, 2),
                         np.array(inter).reshape(len(pairs), T))
    costs = np.round(rng.uniform(1, 10, size=(K, 1)))
    owners = tuple(f"o{int(rng.integers(0, K // 2))}" for _ in range(K))
    order = rng.permutation(K)
    cons = Constraints(ids=tuple(f"i{k}" for k in range(K)), costs=costs, periods=("total",),
                       budget=np.array([float(np.round(costs.sum() * rng.uniform(0.15, 0.4)))]),
                       max_initiatives=int(rng.integers(2, most + 1)), owners=owners, owner_capacity=1,
                       exclusive=((int(order[0]), int(order[1])),) if rules else (),
                       requires=((int(order[2]), int(order[3])), (int(order[3]), int(order[4]))) if rules else (),
                       must=frozenset({int(order[5])}) if rules and rng.random() < 0.5 else frozenset(),
                       forbid=frozenset({int(order[6])}) if rules else frozenset())
    triples = {t: rng.uniform(-0.1, 0.2) * np.minimum.reduce([gains[k] for k in t])
               for t in itertools.combinations(range(K), 3) if rng.random() < 0.05}

    def evaluate(portfolios):
        out = np.array([tables.revenue(p) for p in portfolios]).reshape(len(portfolios), T)
        for i, p in enumerate(portfolios):
            for t, w in triples.items():
                if set(p).issuperset(t):
                    out[i] += w
        return out

    problem = PortfolioProblem(tables, cons, objective, evaluate=evaluate)
    if per_trial_pairs is not None:
        problem.per_trial_pairs = per_trial_pairs
    return problem


def budget_of(cons: Constraints):
    return (cons.costs, cons.budget * (1 + 1e-9) + 1e-6 * np.abs(cons.costs).max(axis=0))


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("per_trial", [True, False])
def test_bounds_hold_for_every_candidate(objective, per_trial):
    for seed in range(8):
        p = instance(seed, objective, K=14, per_trial_pairs=per_trial)
        cons = p.constraints
        portfolios = feasible_portfolios(cons)
        values = {sel: p.program_value(sel) for sel in portfolios}
        lead = max(values, key=values.get)
        for tails, budget in (((), None), ((p.program_trials(lead),), budget_of(cons))):
            bounds = candidate_bounds(p.tables, cons.max_initiatives, objective, per_trial, list(tails), budget)
            for j in range(len(cons.ids)):
                holding = [v for sel, v in values.items() if j in sel]
                if holding:
                    assert max(holding) <= bounds[j] + 1e-9 * abs(bounds[j]), (seed, j)


def test_tail_weights_give_the_cvar():
    rng = np.random.default_rng(3)
    for T, alpha in ((40, 0.2), (37, 0.1), (10, 0.35), (5, 1.0)):
        v = rng.normal(size=T)
        q = tail_weights(v, alpha)
        assert q.sum() == pytest.approx(1.0)
        assert q.max() <= 1 / (alpha * T) + 1e-12
        assert float(v @ q) == pytest.approx(cvar(v, alpha), rel=1e-12, abs=1e-12)


def test_risk_rows_are_each_rows_risk_value():
    v = np.random.default_rng(4).normal(100.0, 10.0, size=(30, 37))
    for objective in ("cvar:0.1:0.5", "cvar:0.2:1.0", "cvar:1.0:0.3"):
        want = [risk_value(row, objective) for row in v]
        np.testing.assert_allclose(risk_rows(v, objective), want, rtol=1e-13)


@pytest.mark.parametrize("seed", range(10))
def test_feasible_matrix_is_the_rules_enumeration(seed):
    cons = instance(seed, K=12).constraints
    rows = feasible_matrix(cons)
    assert [tuple(np.flatnonzero(r)) for r in rows] == feasible_portfolios(cons)


@pytest.mark.parametrize("seed", range(10))
def test_restricted_rules_accept_the_same_portfolios(seed):
    cons = instance(seed, K=12).constraints
    rng = np.random.default_rng(seed)
    keep = sorted(set(rng.choice(12, size=8, replace=False).tolist()) | cons.must)
    sub = restrict_constraints(cons, keep)
    for size in range(cons.max_initiatives + 1):
        for combo in itertools.combinations(range(len(keep)), size):
            assert sub.is_feasible(combo) == cons.is_feasible([keep[i] for i in combo])


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("per_trial", [True, False])
def test_ranked_program_is_the_programs_order(objective, per_trial):
    for seed in range(4):
        p = instance(seed, objective, K=13, per_trial_pairs=per_trial)
        brute = sorted(feasible_portfolios(p.constraints), key=lambda s: (-p.program_value(s), len(s), s))
        ranked, excluded = RankedProgram(p), set()
        for expected in brute[:40]:
            got = ranked.best_not_in(excluded)
            assert p.program_value(got) == pytest.approx(p.program_value(expected), rel=1e-12)
            assert got == expected
            excluded.add(got)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_reduced_walk_returns_the_full_walks_portfolios(objective):
    """With an exact ranking as the solver, the walk on the certified candidates and the walk on all of them
    take the same portfolios in the same order and stop alike."""
    backend = RankedProgramBackend()
    reduced_seen = 0
    for seed in range(12):
        full = no_good_walk(instance(seed, objective, K=30, most=4), backend, top=3, reduce=False)
        p = instance(seed, objective, K=30, most=4)
        reduced = no_good_walk(p, backend, top=3, reduce=True)
        assert [c.selected for c in reduced[1]] == [c.selected for c in full[1]], seed
        assert [c.estimate for c in reduced[1]] == pytest.approx([c.estimate for c in full[1]], rel=1e-12)
        assert reduced[0].selected == full[0].selected
        assert reduced[2:4] == full[2:4]
        reduced_seen += p.search_note is not None and p.search_note["kept"] < 30
    assert reduced_seen >= 4  # a third of the instances or more were really solved on fewer candidates


@pytest.mark.parametrize("objective", ["mean", "cvar:0.2:0.5"])
def test_reduced_walk_with_highs_finds_the_same_best(objective):
    for seed in range(4):
        full = no_good_walk(instance(seed, objective, K=36), backend_for("highs"), top=3, reduce=False)
        reduced = no_good_walk(instance(seed, objective, K=36), backend_for("highs"), top=3, reduce=True)
        assert reduced[0].selected == full[0].selected
        assert reduced[0].exact == pytest.approx(full[0].exact, rel=1e-12)


def test_a_walk_that_runs_out_is_repeated_on_every_candidate():
    """Two feasible portfolios only: the smaller program runs out, and the whole one decides (exhausted and
    proven, as without the reduction)."""
    p = instance(1, "mean", K=34, rules=False)
    cons = p.constraints
    only = (0, 1)
    p.constraints = Constraints(ids=cons.ids, costs=cons.costs, periods=cons.periods, budget=None,
                                max_initiatives=2, owners=tuple(f"o{k}" for k in range(34)), owner_capacity=1,
                                exclusive=(), requires=(), must=frozenset(only),
                                forbid=frozenset(range(2, 34)))
    best, candidates, proven, stopped_by, _ = no_good_walk(p, backend_for("highs"), top=3, reduce=True)
    assert best.selected == only and stopped_by == "exhausted" and proven
