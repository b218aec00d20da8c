"""The grouped engine: grouping pass, grouped evaluation and the end-to-end simulation.

Each figure is measured beside a reference in the same run and printed as a ratio:

* grouping pass from memory (customers/s) vs a NumPy group-by (``np.unique`` + ``bincount``);
* grouped evaluation (portfolio-trials/s) vs a NumPy implementation of DESIGN.md section 1
  that loops months and recomputes every group and driver (timed on a subset of trials);
* end to end: 10,000,000 customers from Parquet, 10,000 trials, 20 initiatives, every single
  and interacting pair (target: under 10 s on 2 cores, JIT excluded).

    python -m pytest benchmarks/bench_engine.py --benchmark-enable -s
    CXOPT_BENCH_CUSTOMERS=10000000 CXOPT_BENCH_TRIALS=10000 python -m pytest benchmarks/bench_engine.py --benchmark-enable -s

The Parquet base is written once to ``CXOPT_BENCH_DIR`` (default: the system temp dir).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cxopt.data.customers import CustomerBase, GroupAccumulator  # noqa: E402
from cxopt.engine.draws import draw_trials  # noqa: E402
from cxopt.engine.arrays import interacting_pairs, segment_targets  # noqa: E402
from cxopt.engine.grouped import evaluate_grouped  # noqa: E402
from cxopt.engine.simulation import simulate  # noqa: E402
from reference import load_customers  # noqa: E402
from scenario_20 import bench_scenario  # noqa: E402

CUSTOMERS = int(os.environ.get("CXOPT_BENCH_CUSTOMERS", 10_000_000))
TRIALS = int(os.environ.get("CXOPT_BENCH_TRIALS", 10_000))
MEMORY_CUSTOMERS = int(os.environ.get("CXOPT_BENCH_MEMORY_CUSTOMERS", 4_000_000))
REF_TRIALS = int(os.environ.get("CXOPT_BENCH_REF_TRIALS", 5))
BENCH_DIR = Path(os.environ.get("CXOPT_BENCH_DIR", tempfile.gettempdir())) / "cxopt-bench"


def _scenario(n: int):
    # 8 pain points + 1 delighter, 2 segments: at most 1,024 (segment, mask) groups
    return bench_scenario(n, initiatives=20, pains=8, delighters=1)


def numpy_group_by(segment, mask, revenue, churn, n_bits):
    """The reference grouping: a key per customer, np.unique, then bincount per sum."""
    key = (segment.astype(np.int64) << n_bits) | mask.astype(np.int64)
    keys, inverse = np.unique(key, return_inverse=True)
    n = np.bincount(inverse)
    a = np.bincount(inverse, weights=revenue)
    b = np.bincount(inverse, weights=revenue * churn)
    c = np.bincount(inverse, weights=churn)
    return keys, n, a, b, c


def numpy_grouped_evaluate(sc, groups, draws, portfolios, trials):
    """DESIGN.md section 1 month by month, every group and driver recomputed (the naive way)."""
    H = sc.horizon_months
    n_p = len(sc.pain_points)
    D = len(sc.drivers)
    E = ((groups.mask[:, None] >> np.arange(D, dtype=np.uint64)) & np.uint64(1)).astype(bool)
    target = segment_targets(sc, groups)[:, groups.segment]  # (K, G)
    N, A, B, C = groups.customers.astype(float), groups.revenue, groups.revenue_churn, groups.churn
    out = np.empty((len(portfolios), trials))
    for t in range(trials):
        sev = draws.strength[t]
        for i, port in enumerate(portfolios):
            total = 0.0
            for tau in range(H):
                not_f = np.ones((groups.n_groups, D))
                for k in port:
                    if draws.success[t, k] and draws.golive[t, k] <= tau:
                        for e in range(draws.fix_ptr[k], draws.fix_ptr[k + 1]):
                            j = draws.fix_driver[e]
                            not_f[:, j] *= np.where(target[k], 1.0 - draws.effect[t, e], 1.0)
                F = 1.0 - not_f
                P = np.prod(np.where(E[:, :n_p], 1.0 - sev[:n_p] * (1.0 - F[:, :n_p]), 1.0), axis=1)
                Dd = np.prod(np.where(E[:, n_p:], 1.0 - sev[n_p:] * F[:, n_p:], 1.0), axis=1)
                total += float((P * (A - draws.market[t] * Dd * B)).sum())
            out[i, t] = total / H
    del N, C
    return out


@pytest.fixture(scope="module")
def memory_base():
    sc = _scenario(MEMORY_CUSTOMERS)
    base = CustomerBase.synthetic(sc, seed=1)
    chunk = load_customers(base, chunk_size=1 << 22)
    # warm the kernels (JIT or cache load), reported apart
    t0 = time.perf_counter()
    GroupAccumulator(len(sc.drivers)).add_chunk(base.synthetic_rows(0, 1000))
    print(f"\ngrouping kernels ready in {time.perf_counter() - t0:.2f} s (JIT or cache load)")
    return sc, base, chunk


def test_grouping_pass_from_memory(benchmark, memory_base):
    sc, base, chunk = memory_base
    n = len(chunk)

    def run():
        acc = GroupAccumulator(len(sc.drivers))
        acc.add_chunk(chunk)
        return acc

    acc = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    kernel = n / benchmark.stats.stats.min
    t0 = time.perf_counter()
    keys, *_ = numpy_group_by(chunk.segment, chunk.mask, chunk.revenue, chunk.baseline_churn, len(sc.drivers))
    ref = n / (time.perf_counter() - t0)
    assert keys.size == acc.raw(base.segments).mask.size
    print(f"\ngrouping pass from memory: {kernel / 1e6:,.0f} M customers/s; NumPy group-by {ref / 1e6:,.1f} "
          f"M customers/s; ratio {kernel / ref:.1f}x  (target >= 200 M/s)")


def test_grouped_evaluation_vs_numpy(benchmark, memory_base):
    sc, base, _ = memory_base
    groups = base.group()
    trials = min(TRIALS, 2000)
    draws = draw_trials(sc, trials, 3)
    K = len(sc.initiatives)
    portfolios = [[]] + [[k] for k in range(K)] + [list(map(int, p)) for p in interacting_pairs(sc, groups)]
    evaluate_grouped(sc, groups, draws, portfolios[:3])  # warm
    rev, _ = benchmark.pedantic(lambda: evaluate_grouped(sc, groups, draws, portfolios), rounds=3)
    kernel = len(portfolios) * trials / benchmark.stats.stats.min
    t0 = time.perf_counter()
    ref_rev = numpy_grouped_evaluate(sc, groups, draws, portfolios, REF_TRIALS)
    ref = len(portfolios) * REF_TRIALS / (time.perf_counter() - t0)
    np.testing.assert_allclose(rev[:, :REF_TRIALS], ref_rev, rtol=1e-9)
    print(f"\ngrouped evaluation: {groups.n_groups} groups, {len(portfolios)} portfolios: "
          f"{kernel:,.0f} portfolio-trials/s vs NumPy {ref:,.0f}/s; ratio {kernel / ref:,.0f}x")


@pytest.fixture(scope="module")
def parquet_base():
    sc = _scenario(CUSTOMERS)
    path = BENCH_DIR / f"base-{CUSTOMERS}.parquet"
    if not path.exists():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        CustomerBase.synthetic(sc, seed=1).write_parquet(path)
    small = _scenario(20_000)
    t0 = time.perf_counter()
    simulate(small, CustomerBase.synthetic(small, seed=1), trials=50, seed=1)  # JIT / cache load
    print(f"\nkernels ready in {time.perf_counter() - t0:.2f} s (JIT or cache load, not counted)")
    return sc, path


def test_end_to_end_from_parquet(benchmark, parquet_base):
    sc, path = parquet_base

    def run():
        base = CustomerBase.from_file(sc, path)
        base.use_cache = False  # measured: no group cache, no table store (bench_rerun.py measures those)
        return simulate(sc, base, trials=TRIALS, seed=1)

    sim = benchmark.pedantic(run, rounds=1, iterations=1)
    seconds = benchmark.stats.stats.min
    print(f"\nend to end: {sim.n_customers:,} customers from Parquet, {sim.trials:,} trials, "
          f"{len(sc.initiatives)} initiatives, {sim.pairs.shape[0]} interacting pairs, {sim.groups.n_groups} groups: "
          f"{seconds:.2f} s (stages {', '.join(f'{k} {v:.2f} s' for k, v in sim.seconds.items())}); target < 10 s")
