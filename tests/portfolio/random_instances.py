"""Seeded random small portfolio problems whose exact value has interactions the program lacks.

Each instance: 6-10 initiatives, per-trial standalone gains, pairwise overlaps (mostly negative,
some positive) that the program sees, and three-way interactions that only the exact evaluation
holds (so the program's estimate is wrong and the no-good walk's stopping rule is tested), with
costs, a budget, a focus limit of 2-5 and shared owners. Used by the 30-instance unit test and
the 500-instance benchmark (``benchmarks/bench_search_quality.py``).
"""

from __future__ import annotations

import itertools

import numpy as np

from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.model import PortfolioProblem, ValueTables

TRIALS = 24


def random_problem(seed: int) -> PortfolioProblem:
    rng = np.random.default_rng(seed)
    K, T = int(rng.integers(6, 11)), TRIALS
    gains = rng.lognormal(np.log(10.0), 0.6, size=(K, 1)) * rng.uniform(0.5, 1.5, size=(K, T))
    pairs, inter = [], []
    for a, b in itertools.combinations(range(K), 2):
        if rng.random() < 0.45:
            scale = -0.4 if rng.random() < 0.8 else 0.2
            pairs.append((a, b))
            inter.append(scale * np.minimum(gains[a], gains[b]) * rng.uniform(0.2, 1.0, size=T))
    triples = {t: rng.uniform(-0.15, 0.25) * np.minimum.reduce([gains[k] for k in t])
               for t in itertools.combinations(range(K), 3) if rng.random() < 0.15}
    baseline = np.full(T, 1000.0) + rng.normal(0, 5, size=T)
    tables = ValueTables(baseline, gains, np.array(pairs, dtype=np.int64).reshape(-1, 2),
                         np.array(inter).reshape(len(pairs), T))
    costs = np.round(rng.uniform(1, 10, size=(K, 1)))
    owners = tuple(f"o{int(rng.integers(0, max(2, K - 2)))}" for _ in range(K))
    cons = Constraints(ids=tuple(f"i{k}" for k in range(K)), costs=costs, periods=("total",),
                       budget=np.array([float(np.round(costs.sum() * rng.uniform(0.25, 0.6)))]),
                       max_initiatives=int(rng.integers(2, 6)), owners=owners, owner_capacity=1,
                       exclusive=(), requires=(), must=frozenset(), forbid=frozenset())

    def evaluate(portfolios):
        out = np.array([tables.revenue(p) for p in portfolios]).reshape(len(portfolios), T)
        for i, p in enumerate(portfolios):
            s = set(p)
            for t, w in triples.items():
                if s.issuperset(t):
                    out[i] += w
        return out

    return PortfolioProblem(tables, cons, "mean", evaluate=evaluate)


def exhaustive_optimum(problem: PortfolioProblem) -> float:
    from cxopt.portfolio.backends.exhaustive import feasible_portfolios

    portfolios = feasible_portfolios(problem.constraints)
    return max(problem.exact_values(portfolios))


def search_loss(seed: int, backend) -> tuple[float, float, str]:
    """(relative loss of the default walk against the exhaustive optimum, the optimum, status)."""
    from cxopt.portfolio.search import no_good_walk

    problem = random_problem(seed)
    best = exhaustive_optimum(problem)
    found, _, proven, stopped_by, _ = no_good_walk(problem, backend)
    gain_scale = abs(best)
    return (best - found.exact) / gain_scale, best, stopped_by
