"""A published multidimensional knapsack as a planning problem: Petersen's 50-item, 5-constraint
instance (C.C. Petersen, "Computational experience with variants of the Balas algorithm applied
to the selection of R&D projects", Management Science 13(9), 1967; problem 7 of OR-Library's
``mknap1``), whose optimum, 16,537, is known from the literature.

Each item is an initiative that acts on its own segment alone (so the items are independent:
no two initiatives touch the same customers, and the program has no interaction terms); the
segment's customers all suffer one pain that the initiative removes whole, at go-live month 0,
for certain. A customer of segment j brings revenue ``p_j`` and churns with probability
``churn``; removing the pain saves ``severity`` of it. So initiative j's expected gain is
``customers x p_j x severity x horizon factor`` exactly, proportional to the item's profit, and
the best portfolio under the five budget periods (the five constraints, capacities b) is the
literature's optimum. Used by ``benchmarks/bench_knapsack.py`` and the tests of issue 17 ("any
portfolio size finishes").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["PROFITS", "WEIGHTS", "CAPACITIES", "OPTIMUM", "knapsack_scenario", "write_knapsack_base"]

PROFITS = np.array([
    560, 1125, 300, 620, 2100, 431, 68, 328, 47, 122, 322, 196, 41, 25, 425, 4260,
    416, 115, 82, 22, 631, 132, 420, 86, 42, 103, 215, 81, 91, 26, 49, 420,
    316, 72, 71, 49, 108, 116, 90, 738, 1811, 430, 3060, 215, 58, 296, 620, 418,
    47, 81], dtype=np.int64)
WEIGHTS = np.array([
    [40, 91, 10, 30, 160, 20, 3, 12, 3, 18, 9, 25, 1, 1, 10, 280, 10, 8, 1, 1, 49, 8, 21, 6, 1,
     5, 10, 8, 2, 1, 0, 10, 42, 6, 4, 8, 0, 10, 1, 40, 86, 11, 120, 8, 3, 32, 28, 13, 2, 4],
    [16, 92, 41, 16, 150, 23, 4, 18, 6, 0, 12, 8, 2, 1, 0, 200, 20, 6, 2, 1, 70, 9, 22, 4, 1,
     5, 10, 6, 4, 0, 4, 12, 8, 4, 3, 0, 10, 0, 6, 28, 93, 9, 30, 22, 0, 36, 45, 13, 2, 2],
    [38, 39, 32, 71, 80, 26, 5, 40, 8, 12, 30, 15, 0, 1, 23, 100, 0, 20, 3, 0, 40, 6, 8, 0, 6,
     4, 22, 4, 6, 1, 5, 14, 8, 2, 8, 0, 20, 0, 0, 6, 12, 6, 80, 13, 6, 22, 14, 0, 1, 2],
    [8, 71, 30, 60, 200, 18, 6, 30, 4, 8, 31, 6, 3, 0, 18, 60, 21, 4, 0, 2, 32, 15, 31, 2, 2,
     7, 8, 2, 8, 0, 2, 8, 6, 7, 1, 0, 0, 20, 8, 14, 20, 2, 40, 6, 1, 14, 20, 12, 0, 1],
    [38, 52, 30, 42, 170, 9, 7, 20, 0, 3, 21, 4, 1, 2, 14, 310, 8, 4, 6, 1, 18, 15, 38, 10, 4,
     8, 6, 0, 0, 3, 0, 10, 6, 1, 3, 0, 3, 5, 4, 0, 30, 12, 16, 18, 3, 16, 22, 30, 4, 0],
], dtype=np.int64)
CAPACITIES = np.array([800, 650, 550, 550, 650], dtype=np.int64)
OPTIMUM = 16537

PERIODS = tuple(f"r{i + 1}" for i in range(len(CAPACITIES)))


def knapsack_scenario(base_path: str, *, customers_per_segment: int = 20, trials: int = 50) -> dict:
    """The instance as scenario data (every item an initiative on its own segment)."""
    n = len(PROFITS)
    segments = [{"id": f"s{j:02d}", "share": 1.0 / n} for j in range(n)]
    initiatives = []
    for j in range(n):
        cost = {PERIODS[i]: float(WEIGHTS[i, j]) for i in range(len(PERIODS)) if WEIGHTS[i, j] > 0}
        initiatives.append({"id": f"item{j:02d}", "owner": f"owner {j:02d}", "cost": cost or {PERIODS[0]: 0.0},
                            "fixes": {"pain": 1.0}, "segments": [f"s{j:02d}"]})
    return {
        "scenario": {"name": "Petersen 50-item knapsack", "trials": trials, "seed": 1, "horizon_months": 12},
        "customers": {"path": base_path, "revenue": 1.0, "baseline_churn": 0.05, "segments": segments},
        "pain_points": [{"id": "pain", "volume": 1.0, "severity": 0.2}],
        "initiatives": initiatives,
        "budget": {"total": {p: float(c) for p, c in zip(PERIODS, CAPACITIES)}, "max_initiatives": n},
    }


def write_knapsack_base(path: str | Path, *, customers_per_segment: int = 20) -> Path:
    """The customer file: segment j's customers bring revenue p_j, churn 5%, all exposed to the pain."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, m = len(PROFITS), customers_per_segment
    seg = np.repeat(np.arange(n), m)
    pq.write_table(pa.table({
        "customer_id": np.arange(n * m, dtype=np.int64),
        "revenue": PROFITS[seg].astype(float),
        "baseline_churn": np.full(n * m, 0.05),
        "segment": np.array([f"s{j:02d}" for j in seg]),
        "exposed_pain": np.ones(n * m, dtype=bool),
    }), path)
    return Path(path)
