"""Per-customer sampled evaluation: numba kernels vs the straightforward NumPy reference.

Same base (the worked example's 200,000 synthetic customers, held in memory for both),
same draws, baseline + every single initiative. Throughput is customer-trial
evaluations per second (each one covers all the portfolios); JIT compilation (or the
cache load) is done and reported before timing. The reference is timed on a subset of
the trials (its cost is linear in them).

    /work/venv/bin/python -m pytest benchmarks/bench_sampled.py --benchmark-enable -s
    /work/venv/bin/python benchmarks/bench_sampled.py          # the same, as a script

Environment: CXOPT_BENCH_CUSTOMERS (200000), CXOPT_BENCH_TRIALS (200),
CXOPT_BENCH_REF_TRIALS (10).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cxopt  # noqa: E402
from cxopt.engine import sampled  # noqa: E402
from cxopt.data.customers import CustomerBase  # noqa: E402
from cxopt.engine.draws import draw_trials  # noqa: E402
from cxopt.engine.arrays import segment_targets  # noqa: E402
from cxopt.bench.run import InMemoryBase  # noqa: E402
from reference import load_customers, sampled_reference  # noqa: E402
from timing import best_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "bottom_up_article.toml"
CUSTOMERS = int(os.environ.get("CXOPT_BENCH_CUSTOMERS", 200_000))
TRIALS = int(os.environ.get("CXOPT_BENCH_TRIALS", 200))
REF_TRIALS = int(os.environ.get("CXOPT_BENCH_REF_TRIALS", 10))
SEED = 7
TARGET_RATIO = 50.0


class Setup:
    def __init__(self) -> None:
        self.sc = cxopt.load_scenario(SCENARIO)
        synthetic = CustomerBase.synthetic(self.sc, n=CUSTOMERS)
        self.groups = synthetic.group()
        self.customers = load_customers(synthetic)
        self.base = InMemoryBase(self.customers)
        self.draws = draw_trials(self.sc, TRIALS, SEED)
        self.portfolios = [[]] + [[k] for k in range(len(self.sc.initiatives))]

    def kernel(self):
        return sampled.evaluate_sampled(self.sc, self.base, self.groups, self.draws, self.portfolios)

    def reference(self):
        return sampled_reference(self.customers, segment_targets(self.sc, self.groups), len(self.sc.pain_points),
                                 self.draws, self.portfolios, self.sc.horizon_months,
                                 rng=np.random.default_rng(SEED), trials=REF_TRIALS)


def _warm_up(setup: Setup) -> float:
    """Compile (or load from the cache) every kernel on a small slice; seconds taken."""
    small = InMemoryBase(next(setup.base.iter_chunks(5000)))
    t0 = time.perf_counter()
    sampled.evaluate_sampled(setup.sc, small, setup.groups, draw_trials(setup.sc, 2, SEED), setup.portfolios)
    return time.perf_counter() - t0


def _metrics(setup: Setup, jit: float, k_sec: float, k_cpu: float, k_rev: np.ndarray,
             r_sec: float, r_cpu: float, r_rev: np.ndarray) -> dict:
    n, P = setup.base.n_customers, len(setup.portfolios)
    kernel_rate = n * TRIALS / k_sec
    reference_rate = n * REF_TRIALS / r_sec
    return {
        "customers": n, "trials": TRIALS, "reference_trials": REF_TRIALS, "portfolios": P,
        "threads": numba.get_num_threads(), "jit_seconds": jit,
        "kernel_seconds": k_sec, "reference_seconds": r_sec,
        "kernel_cpu_seconds": k_cpu, "reference_cpu_seconds": r_cpu,
        "kernel_customer_trials_per_s": kernel_rate, "reference_customer_trials_per_s": reference_rate,
        "kernel_evaluations_per_s": kernel_rate * P, "ratio": kernel_rate / reference_rate,
        # per CPU-second: what each side does with the same processor time (immune to
        # neighbours stealing cores; the kernel's wall ratio adds its parallel speed-up)
        "cpu_ratio": (n * TRIALS / k_cpu) / (n * REF_TRIALS / r_cpu),
        # the same model with other uniforms: trial by trial within the customers' noise (<< 1%)
        "max_relative_gap": float(np.max(np.abs(k_rev[:, :REF_TRIALS] / r_rev - 1.0))),
    }


def measure(rounds: int = 3) -> dict:
    setup = Setup()
    jit = _warm_up(setup)
    k_sec, k_cpu, (k_rev, _) = best_of(setup.kernel, rounds)
    r_sec, r_cpu, (r_rev, _) = best_of(setup.reference, 1)
    return _metrics(setup, jit, k_sec, k_cpu, k_rev, r_sec, r_cpu, r_rev)


def report(m: dict) -> str:
    return (
        f"sampled path, {m['customers']:,} customers x {m['portfolios']} portfolios, {m['threads']} threads "
        f"(JIT/cache load {m['jit_seconds']:.2f} s, not timed)\n"
        f"  kernel    {m['trials']:>4} trials {m['kernel_seconds']:8.3f} s  "
        f"{m['kernel_customer_trials_per_s'] / 1e6:9.2f} M customer-trials/s "
        f"({m['kernel_evaluations_per_s'] / 1e9:.2f} G customer-trial-portfolios/s)\n"
        f"  reference {m['reference_trials']:>4} trials {m['reference_seconds']:8.3f} s  "
        f"{m['reference_customer_trials_per_s'] / 1e6:9.2f} M customer-trials/s\n"
        f"  ratio {m['ratio']:.0f}x wall clock (target >= {TARGET_RATIO:.0f}x), {m['cpu_ratio']:.0f}x per CPU-second "
        f"(kernel {m['kernel_cpu_seconds']:.3f} s CPU, reference {m['reference_cpu_seconds']:.3f} s CPU); "
        f"largest per-trial revenue gap {100 * m['max_relative_gap']:.3f}%"
    )


def test_sampled_kernel_vs_numpy_reference(benchmark):
    setup = Setup()
    jit = _warm_up(setup)
    k_rev, _ = benchmark.pedantic(setup.kernel, rounds=3, iterations=1)
    # our own timing as well: CPU seconds, and a time under --benchmark-disable (the default)
    k_sec, k_cpu, _ = best_of(setup.kernel, 3)
    if benchmark.enabled:
        k_sec = min(k_sec, benchmark.stats.stats.min)
    r_sec, r_cpu, (r_rev, _) = best_of(setup.reference, 1)
    m = _metrics(setup, jit, k_sec, k_cpu, k_rev, r_sec, r_cpu, r_rev)
    benchmark.extra_info.update(m)
    print("\n" + report(m))
    assert m["max_relative_gap"] < 0.01


if __name__ == "__main__":
    print(report(measure()))
