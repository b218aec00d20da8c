"""``cxopt bench``: throughput of every stage on a synthetic partitioned base, with references.

Stages, each timed on its own after the numba kernels are compiled (or loaded from the
cache — reported apart as ``jit_seconds``):

* ``generate`` — the synthetic base written as ``P`` Parquet files (skipped when reused);
* ``read`` — a plain pyarrow scan of the same columns (``ParquetFile.iter_batches``, the
  reader the grouping pass uses): the disk/decode speed the grouping pass is held to;
* ``group`` — the grouping pass (on the cluster with ``cluster``);
* ``simulate`` — draws and the grouped evaluation of the baseline, every initiative alone and
  every interacting pair on every trial;
* ``optimize`` — the portfolio choice with exact re-evaluation, and the plan;
* ``sampled`` — the per-customer sampled kernel on the base's first customers beside a
  straightforward NumPy implementation of the same model (:func:`sampled_reference`),
  in customer-trials per second.

The default scenario (:func:`bench_scenario`) is the project's benchmark: 10 pain points,
2 delighters, 20 initiatives, 2 segments. The NumPy reference is kept here, not imported
from ``benchmarks/``, so the installed package is self-contained.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pyarrow.parquet as pq

from cxopt.data.customers import (
    DEFAULT_CHUNK,
    EXPOSED_PREFIX,
    REQUIRED_COLUMNS,
    CustomerBase,
    CustomerChunk,
    write_partitioned,
)
from cxopt.model.scenario import Scenario, parse_scenario
from cxopt.errors import Problem, ScenarioError

__all__ = ["bench_scenario", "run_bench", "format_bench", "sampled_reference", "counter_uniforms",
           "default_partitions", "DEFAULT_CUSTOMERS"]

DEFAULT_CUSTOMERS = 1_000_000
PARTITION_ROWS = 4_000_000  # default partition size of a generated base
SAMPLED_CUSTOMERS = 100_000
SAMPLED_TRIALS = 20
REFERENCE_TRIALS = 2
WARM_CUSTOMERS = 70_000

Log = Callable[[str], None]


# --------------------------------------------------------------------------------------
# the benchmark scenario
# --------------------------------------------------------------------------------------
def bench_scenario(n_customers: int = 10_000_000, initiatives: int = 20, pains: int = 10,
                   delighters: int = 2) -> Scenario:
    """The benchmark scenario: ``pains`` pain points, ``delighters`` delighters, ``initiatives``
    initiatives (some on two drivers, some targeting one segment), two segments."""
    pain_points = [
        {"id": f"pain{j}", "volume": 0.05 + 0.03 * (j % 5),
         "severity": {"dist": "pert", "low": 0.01, "mode": 0.02 + 0.01 * (j % 4), "high": 0.12}}
        for j in range(pains)
    ]
    delight = [{"id": f"delight{d}", "reach": 0.2, "lift": {"dist": "uniform", "low": 0.02, "high": 0.1}}
               for d in range(delighters)]
    drivers = [p["id"] for p in pain_points] + [d["id"] for d in delight]
    inits = []
    for k in range(initiatives):
        fixes = {drivers[k % len(drivers)]: {"dist": "beta", "mean": 0.5, "sd": 0.15}}
        if k % 3 == 0:
            fixes[drivers[(k + 5) % pains]] = {"dist": "uniform", "low": 0.1, "high": 0.4}
        inits.append({"id": f"init{k}", "owner": f"owner{k % 15}", "cost": 100_000 + 25_000 * (k % 7),
                      "success_probability": 0.8 + 0.01 * (k % 10), "months_to_impact": k % 6,
                      "fixes": fixes, **({"segments": ["business"]} if k % 7 == 3 else {})})
    return parse_scenario({
        "scenario": {"name": "benchmark", "horizon_months": 12, "trials": 10_000, "seed": 1},
        "customers": {"count": n_customers,
                      "revenue": {"dist": "lognormal", "median": 900.0, "sigma": 0.9},
                      "baseline_churn": {"dist": "beta", "mean": 0.08, "sd": 0.03},
                      "exposure_correlation": 0.2,
                      "segments": [{"id": "consumer", "share": 0.85},
                                   {"id": "business", "share": 0.15, "revenue_multiplier": 4.0}]},
        "market": {"churn_multiplier": {"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.15}},
        "pain_points": pain_points, "delighters": delight, "initiatives": inits,
        "budget": {"total": 1_500_000},
    }, source="benchmark")


# --------------------------------------------------------------------------------------
# the NumPy reference of the sampled path (shares no code with the numba kernels)
# --------------------------------------------------------------------------------------
_U53 = 1.0 / 9007199254740992.0


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def counter_uniforms(key: int, customer_id: np.ndarray, trial: int) -> np.ndarray:
    """The counter-based uniforms of ``cxopt.kernels.counter_uniform``, vectorised in NumPy."""
    cid = np.asarray(customer_id, dtype=np.int64).astype(np.uint64)
    ht = _splitmix64(np.array([trial], dtype=np.uint64))[0]
    with np.errstate(over="ignore"):
        h = _splitmix64(np.uint64(key) ^ _splitmix64(cid + ht))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * _U53


def sampled_reference(customers: CustomerChunk, seg_target: np.ndarray, n_pains: int, draws,
                      portfolios: Sequence[Sequence[int]], horizon: int, *, key: int | None = None,
                      rng: np.random.Generator | None = None,
                      trials: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Retained revenue and customers, (P, T), every customer's churn drawn — the obvious way.

    Per trial, vectorised over customers: each portfolio's horizon retention built epoch by
    epoch from ``rho_i = (1 - m p_i prod_d (1 - lambda_d F_d)) prod_j (1 - sigma_j (1 - F_j))``
    (DESIGN.md section 1), a customer kept when its uniform falls below it: the engine's
    counter-based uniform when ``key`` is given (results then match the numba path customer by
    customer), else NumPy's own from ``rng`` (default: seeded 0). ``trials``: only the first
    ones (timing on a subset).
    """
    rng = rng or np.random.default_rng(0)
    T = draws.trials if trials is None else min(int(trials), draws.trials)
    P = len(portfolios)
    r, p, seg = customers.revenue, customers.baseline_churn, customers.segment
    n = r.shape[0]
    n_seg = seg_target.shape[1]
    D = draws.strength.shape[1]
    exposed = [((customers.mask >> np.uint64(j)) & np.uint64(1)).astype(bool) for j in range(D)]
    fixes = [[(int(draws.fix_driver[e]), e) for e in range(draws.fix_ptr[k], draws.fix_ptr[k + 1])]
             for k in range(len(draws.fix_ptr) - 1)]
    rev = np.zeros((P, T))
    cust = np.zeros((P, T))
    for t in range(T):
        u = counter_uniforms(key, customers.customer_id, t) if key is not None else rng.random(n)
        m_t = draws.market[t]

        def rho(live: list[int]) -> np.ndarray:
            pain = np.ones(n)
            delight = np.ones(n)
            for j in range(D):
                not_f = np.ones(n_seg)  # 1 - F per segment
                for k in live:
                    for driver, e in fixes[k]:
                        if driver == j:
                            not_f[seg_target[k]] *= 1.0 - draws.effect[t, e]
                F = 1.0 - not_f[seg]
                s_j = draws.strength[t, j]
                if j < n_pains:
                    pain *= np.where(exposed[j], 1.0 - s_j * (1.0 - F), 1.0)
                else:
                    delight *= np.where(exposed[j], 1.0 - s_j * F, 1.0)
            return (1.0 - m_t * p * delight) * pain

        base_rho = rho([])
        for q, members in enumerate(portfolios):
            delivered = [k for k in members if draws.success[t, k] and draws.golive[t, k] < horizon]
            if not delivered:
                retention = base_rho
            else:
                months = sorted({int(draws.golive[t, k]) for k in delivered})
                retention = months[0] * base_rho
                for x, start in enumerate(months):
                    stop = months[x + 1] if x + 1 < len(months) else horizon
                    live = [k for k in delivered if draws.golive[t, k] <= start]
                    retention = retention + (stop - start) * rho(live)
                retention = retention / horizon
            kept = u < retention
            rev[q, t] = r[kept].sum()
            cust[q, t] = kept.sum()
    return rev, cust


class InMemoryBase:
    """Customers already in memory, streamed like a CustomerBase (what the sampled pass reads)."""

    def __init__(self, customers: CustomerChunk):
        self.customers = customers
        self.n_customers = len(customers)

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK):
        c = self.customers
        for lo in range(0, self.n_customers, chunk_size):
            hi = lo + chunk_size
            yield CustomerChunk(c.customer_id[lo:hi], c.revenue[lo:hi], c.baseline_churn[lo:hi],
                                c.segment[lo:hi], c.mask[lo:hi])

    def describe(self) -> str:
        return f"{self.n_customers:,} customers in memory"


# --------------------------------------------------------------------------------------
# stages
# --------------------------------------------------------------------------------------
def default_partitions(n_customers: int) -> int:
    """One Parquet file a CPU, more for a large base (about ``PARTITION_ROWS`` customers each)."""
    return max(os.cpu_count() or 1, -(-n_customers // PARTITION_ROWS))


def _columns(sc: Scenario) -> list[str]:
    return [*REQUIRED_COLUMNS, *(EXPOSED_PREFIX + d for d in sc.driver_ids)]


def plain_scan(paths: Sequence[Path], columns: list[str], chunk_size: int = DEFAULT_CHUNK) -> tuple[int, int]:
    """Rows and bytes decoded by a plain pyarrow scan of ``columns`` (nothing else done with them)."""
    rows = size = 0
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size, columns=columns):
            rows += batch.num_rows
            size += batch.nbytes
    return rows, size


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _warm_up(sc: Scenario, seed: int, workdir: Path, client) -> float:
    """Compile (or load from numba's cache) every kernel the stages use, on a small base."""
    from cxopt.engine import sampled
    from cxopt.engine.draws import draw_trials
    from cxopt.engine.simulation import simulate

    t0 = time.perf_counter()
    small = CustomerBase.synthetic(sc, n=WARM_CUSTOMERS, seed=seed)
    folder = write_partitioned(small, workdir / "warm-up", 4, force=True, chunk_size=WARM_CUSTOMERS // 16)
    if client is not None:  # every worker reads a file and groups it once
        from cxopt.distributed import group_distributed, warm_up

        warm_up(client, sc)
        group_distributed(sc, CustomerBase.from_file(sc, folder), client, fragment_rows=1)
    base = CustomerBase.from_file(sc, folder)
    base.use_cache = False  # the kernels must run (and compile): nothing read from the caches
    sim = simulate(sc, base, trials=2, seed=seed)
    head = InMemoryBase(base.head(5_000))
    sampled.evaluate_sampled(sc, head, sim.groups, draw_trials(sc, 2, seed),
                             [[]] + [[k] for k in range(len(sc.initiatives))])
    return time.perf_counter() - t0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _worker_peak_rss_mb(client) -> dict[str, float]:
    peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return {w: v / 1024.0 for w, v in peaks.items()}


def run_bench(sc: Scenario, *, customers: int | None, trials: int, seed: int, base_dir: Path | None = None,
              partitions: int | None = None, cluster: str | None = None, chunk_size: int = DEFAULT_CHUNK,
              sampled_customers: int = SAMPLED_CUSTOMERS, sampled_trials: int = SAMPLED_TRIALS,
              reference_trials: int = REFERENCE_TRIALS, log: Log | None = None) -> dict:
    """Run every stage; figures as a JSON-ready dict (see :func:`format_bench`).

    ``base_dir`` that exists is reused as it is (its row count is the benchmark's size;
    ``customers``, when given, must match it); one that does not is generated and kept;
    without it the base goes to a temporary directory removed at the end.
    """
    from cxopt.engine import sampled
    from cxopt.engine.draws import draw_trials
    from cxopt.engine.arrays import segment_targets
    from cxopt.engine.simulation import simulate
    from cxopt.portfolio.search import optimize
    from cxopt.plan.build import build_plan

    say = log or (lambda msg: None)
    temp = None
    if base_dir is None:
        temp = Path(tempfile.mkdtemp(prefix="cxopt-bench-"))
        base_dir = temp / "base"
    base_dir = Path(base_dir)
    workdir = Path(tempfile.mkdtemp(prefix="cxopt-bench-warm-"))
    client = None
    try:
        if cluster is not None:
            from cxopt import distributed

            say(f"connecting to the Dask cluster {cluster or os.environ.get('DASK_SCHEDULER_ADDRESS', '')}")
            client = distributed.connect(cluster)
        stages: dict[str, dict] = {}
        reused = base_dir.exists()
        if reused:
            base = CustomerBase.from_file(sc, base_dir)
            n = base.n_customers
            if customers is not None and customers != n:
                raise ScenarioError(Problem(
                    str(base_dir), "--customers",
                    f"the base there holds {n:,} customers, not {customers:,}: "
                    "drop --customers or give another --base"))
            partitions = len(base.paths)
        else:
            n = int(customers if customers is not None else sc.customers.count or DEFAULT_CUSTOMERS)
            partitions = partitions or default_partitions(n)

        say("compiling the kernels (or loading numba's cache)")
        jit = _warm_up(sc, seed, workdir, client)
        if reused:
            say(f"reusing {n:,} customers in {partitions} files at {base_dir}")
        else:
            say(f"generating {n:,} customers as {partitions} Parquet files in {base_dir}")
            synthetic = CustomerBase.synthetic(sc, n=n, seed=seed)
            seconds, _ = _timed(lambda: write_partitioned(synthetic, base_dir, partitions,
                                                          chunk_size=chunk_size))
            stages["generate"] = {"seconds": seconds, "rows_per_s": n / seconds}
            base = CustomerBase.from_file(sc, base_dir)
        base.use_cache = False  # a stage measures its work: neither the group cache nor the table store
        size_bytes = sum(p.stat().st_size for p in base.paths)

        say("read: plain pyarrow scan")
        seconds, (rows, decoded) = _timed(lambda: plain_scan(base.paths, _columns(sc), chunk_size))
        stages["read"] = {"seconds": seconds, "rows_per_s": rows / seconds, "decoded_bytes": decoded,
                          "mb_per_s": decoded / seconds / 1e6}

        say("group: the grouping pass" + (" on the cluster" if client is not None else ""))
        if client is not None:
            from cxopt import distributed

            seconds, groups = _timed(lambda: distributed.group_distributed(sc, base, client, chunk_size))
        else:
            seconds, groups = _timed(lambda: base.group(chunk_size))
        stages["group"] = {"seconds": seconds, "rows_per_s": n / seconds, "groups": groups.n_groups}

        say(f"simulate: {trials:,} trials, singles and pairs")
        executor = None if client is None else distributed.DaskExecutor(client)
        seconds, sim = _timed(lambda: simulate(sc, base, trials=trials, seed=seed, pairs=True,
                                               executor=executor))
        portfolios = 1 + len(sc.initiatives) + len(sim.pairs)
        stages["simulate"] = {"seconds": seconds, "trials": trials, "portfolios": portfolios,
                              "customer_trials_per_s": n * trials / seconds,
                              "portfolio_trials_per_s": portfolios * trials / seconds,
                              "draw_seconds": sim.seconds.get("draw"),
                              "evaluate_seconds": sim.seconds.get("evaluate")}

        say("optimize: choose the portfolio, re-evaluate exactly, build the plan")
        seconds, plan = _timed(lambda: build_plan(optimize(sim)))
        stages["optimize"] = {"seconds": seconds, "selected": plan.result.selected_ids}

        m = min(sampled_customers, n)
        k_trials = max(1, sampled_trials)
        r_trials = max(1, min(reference_trials, k_trials))
        say(f"sampled: kernel ({k_trials} trials) vs NumPy reference ({r_trials}) on {m:,} customers")
        head = base.head(m)
        draws = draw_trials(sc, k_trials, seed)
        singles = [[]] + [[k] for k in range(len(sc.initiatives))]
        k_sec, (k_rev, _) = _timed(lambda: sampled.evaluate_sampled(sc, InMemoryBase(head), groups, draws,
                                                                    singles))
        r_sec, (r_rev, _) = _timed(lambda: sampled_reference(
            head, segment_targets(sc, groups), len(sc.pain_points), draws, singles, sc.horizon_months,
            key=int(sampled.sampling_key(seed)), trials=r_trials))
        kernel_rate, reference_rate = m * k_trials / k_sec, m * r_trials / r_sec
        stages["sampled"] = {
            "customers": m, "portfolios": len(singles), "trials": k_trials, "seconds": k_sec,
            "customer_trials_per_s": kernel_rate, "reference_trials": r_trials, "reference_seconds": r_sec,
            "reference_customer_trials_per_s": reference_rate,
            # same uniforms, same model: only rounding in the retention can flip a customer
            "max_relative_gap": float(np.max(np.abs(k_rev[:, :r_trials] / r_rev - 1.0))),
        }

        import numba

        end_to_end = sum(stages[k]["seconds"] for k in ("group", "simulate", "optimize"))
        out = {
            "scenario": sc.scenario.name, "customers": n, "trials": trials,
            "initiatives": len(sc.initiatives), "drivers": len(sc.driver_ids), "seed": seed,
            "base": str(base_dir), "base_reused": reused,
            "base_bytes": size_bytes, "partitions": partitions, "chunk_size": chunk_size,
            "cluster": None if client is None else (cluster or os.environ.get("DASK_SCHEDULER_ADDRESS")),
            "workers": None if client is None else len(client.scheduler_info()["workers"]),
            "threads": numba.get_num_threads(), "jit_seconds": jit, "stages": stages,
            "ratios": {"group_to_read": stages["group"]["seconds"] / stages["read"]["seconds"],
                       "sampled_kernel_to_reference": kernel_rate / reference_rate},
            "end_to_end_seconds": end_to_end, "end_to_end_rows_per_s": n / end_to_end,
            "peak_rss_mb": _peak_rss_mb(),
        }
        if client is not None:
            out["worker_peak_rss_mb"] = _worker_peak_rss_mb(client)
        return out
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def format_bench(d: dict) -> str:
    """The figures of :func:`run_bench` as a few lines of text."""
    s = d["stages"]
    sim, smp = s["simulate"], s["sampled"]
    where = f"Dask {d['cluster']} ({d['workers']} workers)" if d.get("cluster") else f"{d['threads']} threads"
    lines = [
        f"cxopt bench — {d['scenario']}: {d['customers']:,} customers, {d['trials']:,} trials, "
        f"{d['initiatives']} initiatives, {d['partitions']} Parquet files "
        f"({d['base_bytes'] / 1e6:,.0f} MB), {where}",
        f"  JIT / numba cache load  {d['jit_seconds']:8.2f} s  (not in the figures below)",
    ]
    if "generate" in s:
        g = s["generate"]
        lines.append(f"  generate   {g['seconds']:8.2f} s  {g['rows_per_s'] / 1e6:8.2f} M rows/s")
    else:
        lines.append(f"  generate   (reused {d['base']})")
    lines += [
        f"  read       {s['read']['seconds']:8.2f} s  {s['read']['rows_per_s'] / 1e6:8.2f} M rows/s  "
        f"(plain pyarrow scan, {s['read']['mb_per_s']:,.0f} MB/s decoded)",
        f"  group      {s['group']['seconds']:8.2f} s  {s['group']['rows_per_s'] / 1e6:8.2f} M rows/s  "
        f"({s['group']['groups']:,} groups; {d['ratios']['group_to_read']:.2f}x the plain scan)",
        f"  simulate   {sim['seconds']:8.2f} s  {sim['customer_trials_per_s'] / 1e9:8.2f} G "
        f"customer-trials/s  ({sim['portfolios']} portfolios x {sim['trials']:,} trials)",
        f"  optimize   {s['optimize']['seconds']:8.2f} s  selected {', '.join(s['optimize']['selected'])}",
        f"  sampled    {smp['seconds']:8.2f} s  {smp['customer_trials_per_s'] / 1e6:8.2f} M "
        f"customer-trials/s  ({smp['customers']:,} customers x {smp['portfolios']} portfolios); "
        f"NumPy reference {smp['reference_customer_trials_per_s'] / 1e6:.3f} M/s: "
        f"{d['ratios']['sampled_kernel_to_reference']:.0f}x",
        f"  end to end (group + simulate + optimize) {d['end_to_end_seconds']:.2f} s, "
        f"{d['end_to_end_rows_per_s'] / 1e6:.2f} M rows/s; peak RSS {d['peak_rss_mb']:,.0f} MB",
    ]
    if d.get("worker_peak_rss_mb"):
        peaks = d["worker_peak_rss_mb"].values()
        lines.append("  worker peak RSS " + ", ".join(f"{v:,.0f} MB" for v in peaks))
    return "\n".join(lines)
