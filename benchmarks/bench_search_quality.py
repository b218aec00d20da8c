"""The no-good walk's stopping rule, measured: 500 seeded random small instances against enumeration.

Each instance (``tests/portfolio/random_instances.py``: 6-10 initiatives, pairwise overlaps the
program sees and three-way interactions only the exact evaluation holds, a budget, a focus
limit, shared owners) is solved by the default walk (HiGHS, top=10) and by exhaustive
enumeration of the exact value. Target: the walk never loses more than 0.1% of the optimum.
Prints the worst loss and the share of exact matches (recorded in docs/decisions.md).

    python -m pytest benchmarks/bench_search_quality.py -s
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cxopt.portfolio.backends import backend_for  # noqa: E402
from tests.portfolio.random_instances import search_loss  # noqa: E402

INSTANCES = int(os.environ.get("CXOPT_BENCH_INSTANCES", 500))


def test_stopping_rule_on_500_random_instances():
    backend = backend_for(os.environ.get("CXOPT_BENCH_SOLVER", "auto"))
    t0 = time.perf_counter()
    rows = [(seed, *search_loss(seed, backend)) for seed in range(INSTANCES)]
    losses = [r[1] for r in rows]
    worst = max(rows, key=lambda r: r[1])
    exact = sum(1 for x in losses if x <= 1e-12)
    stops = {s: sum(1 for r in rows if r[3] == s) for s in {r[3] for r in rows}}
    print(f"\n{INSTANCES} instances, {backend.name}: worst loss {worst[1]:.5%} (seed {worst[0]}), "
          f"exact matches {exact}/{INSTANCES} ({exact / INSTANCES:.1%}), mean loss {sum(losses) / len(losses):.6%}, "
          f"stopped by {stops}; {time.perf_counter() - t0:.0f} s")
    assert worst[1] <= 1e-3
