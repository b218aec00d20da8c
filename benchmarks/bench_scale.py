"""Scale (issue 8): 100,000,000 customers on one machine, then through a 2-worker LocalCluster.

The base is generated once as a partitioned Parquet dataset (``cxopt.data.customers.write_partitioned``)
and kept in ``CXOPT_BENCH_DIR`` for later runs. Then, each in a fresh process run under
``/usr/bin/time -v`` (peak RSS as the kernel counts it), :func:`cxopt.bench.run.run_bench` times
every stage on that base — a plain pyarrow scan of the same columns, the grouping pass,
the simulation (10,000 trials, 20 initiatives, every single and interacting pair), the
optimisation — first on one machine, then with ``cluster="local:2"``. Printed: end-to-end
time (group + simulate + optimise) and rows/s, peak RSS (target under 2 GB), the grouping
pass against the plain scan in the same run (target within 1.5x), and the cluster's overhead.

Only runs when asked (it takes minutes and gigabytes of disk):

    CXOPT_BENCH_LARGE=1 /work/venv/bin/python -m pytest benchmarks/bench_scale.py -s
    CXOPT_BENCH_LARGE=1 /work/venv/bin/python benchmarks/bench_scale.py

Environment: CXOPT_BENCH_CUSTOMERS (100000000), CXOPT_BENCH_TRIALS (10000),
CXOPT_BENCH_PARTITIONS (one a CPU, about 4 million customers each), CXOPT_BENCH_DIR
(the system temp dir), CXOPT_BENCH_CLUSTER (local:2; empty to skip the cluster run).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

LARGE = os.environ.get("CXOPT_BENCH_LARGE") == "1"
CUSTOMERS = int(os.environ.get("CXOPT_BENCH_CUSTOMERS", 100_000_000))
TRIALS = int(os.environ.get("CXOPT_BENCH_TRIALS", 10_000))
PARTITIONS = int(os.environ["CXOPT_BENCH_PARTITIONS"]) if os.environ.get("CXOPT_BENCH_PARTITIONS") else None
CLUSTER = os.environ.get("CXOPT_BENCH_CLUSTER", "local:2")
BENCH_DIR = Path(os.environ.get("CXOPT_BENCH_DIR", tempfile.gettempdir())) / "cxopt-scale"
SEED = 1
TIME = "/usr/bin/time"
TARGET_RSS_MB = 2048.0
TARGET_GROUP_TO_READ = 1.5


def base_dir() -> Path:
    return BENCH_DIR / f"base-{CUSTOMERS}"


def _run_measured(args: list[str]) -> tuple[dict, float, float]:
    """Run this file as a child (under /usr/bin/time -v when present): its JSON, peak RSS (MB), seconds."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    if Path(TIME).exists():
        cmd = [TIME, "-v", *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    rss = int(found.group(1)) / 1024.0 if found else float("nan")
    return json.loads(proc.stdout), rss, wall


def _child(kind: str) -> None:
    """In the child process: generate the base, or run every stage on it; JSON on stdout."""
    from cxopt.bench.run import bench_scenario, default_partitions, run_bench
    from cxopt.data.customers import CustomerBase, write_partitioned

    sc = bench_scenario(CUSTOMERS)
    if kind == "generate":
        partitions = PARTITIONS or default_partitions(CUSTOMERS)
        t0 = time.perf_counter()
        write_partitioned(CustomerBase.synthetic(sc, n=CUSTOMERS, seed=SEED), base_dir(), partitions)
        seconds = time.perf_counter() - t0
        out = {"seconds": seconds, "rows_per_s": CUSTOMERS / seconds, "partitions": partitions}
    else:
        log = lambda msg: print(f"[{kind}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
        out = run_bench(sc, customers=CUSTOMERS, trials=TRIALS, seed=SEED, base_dir=base_dir(),
                        cluster=None if kind == "single" else CLUSTER, log=log)
    sys.stdout.write(json.dumps(out) + "\n")


def measure() -> dict:
    figures: dict = {"customers": CUSTOMERS, "trials": TRIALS, "base": str(base_dir())}
    if not base_dir().exists():
        base_dir().parent.mkdir(parents=True, exist_ok=True)
        gen, rss, _ = _run_measured(["--child", "generate"])
        figures["generate"] = {**gen, "peak_rss_mb": rss}
    single, rss, wall = _run_measured(["--child", "single"])
    figures["single"] = {**single, "peak_rss_mb_time_v": rss, "process_seconds": wall}
    if CLUSTER:
        dask, rss, wall = _run_measured(["--child", "cluster"])
        figures["cluster"] = {**dask, "peak_rss_mb_time_v": rss, "process_seconds": wall}
        figures["cluster_overhead"] = {
            "end_to_end": dask["end_to_end_seconds"] / single["end_to_end_seconds"],
            "group": dask["stages"]["group"]["seconds"] / single["stages"]["group"]["seconds"],
        }
    return figures


def report(f: dict) -> str:
    lines = [f"scale: {f['customers']:,} customers, {f['trials']:,} trials, base {f['base']}"]
    if "generate" in f:
        g = f["generate"]
        lines.append(f"  generate  {g['seconds']:8.1f} s  {g['rows_per_s'] / 1e6:6.2f} M rows/s  "
                     f"({g['partitions']} files, peak RSS {g['peak_rss_mb']:,.0f} MB)")
    for kind in ("single", "cluster"):
        if kind not in f:
            continue
        d = f[kind]
        s = d["stages"]
        label = "one machine" if kind == "single" else f"cluster {d['cluster']} ({d['workers']} workers)"
        worker = ""
        if d.get("worker_peak_rss_mb"):
            worker = ", workers " + " / ".join(f"{v:,.0f}" for v in d["worker_peak_rss_mb"].values()) + " MB"
        read, group, sim = s["read"], s["group"], s["simulate"]
        lines += [
            f"  {label}: {d['partitions']} files, {d['base_bytes'] / 1e9:.2f} GB, "
            f"JIT {d['jit_seconds']:.1f} s apart",
            f"    read (plain pyarrow scan) {read['seconds']:7.1f} s  "
            f"{read['rows_per_s'] / 1e6:6.1f} M rows/s",
            f"    group                     {group['seconds']:7.1f} s  "
            f"{group['rows_per_s'] / 1e6:6.1f} M rows/s"
            f"  = {d['ratios']['group_to_read']:.2f}x the scan (target <= {TARGET_GROUP_TO_READ}x)",
            f"    simulate                  {sim['seconds']:7.1f} s  ({sim['portfolios']} "
            f"portfolios x {sim['trials']:,} trials)",
            f"    optimize                  {s['optimize']['seconds']:7.1f} s",
            f"    end to end                {d['end_to_end_seconds']:7.1f} s  "
            f"{d['end_to_end_rows_per_s'] / 1e6:6.2f} M rows/s",
            f"    peak RSS {d['peak_rss_mb_time_v']:,.0f} MB "
            f"(/usr/bin/time -v; target < {TARGET_RSS_MB:,.0f} MB)"
            f"{worker}; whole process {d['process_seconds']:.0f} s",
        ]
    if "cluster_overhead" in f:
        o = f["cluster_overhead"]
        lines.append(f"  cluster / one machine: end to end {o['end_to_end']:.2f}x, "
                     f"grouping pass {o['group']:.2f}x")
    return "\n".join(lines)


@pytest.mark.skipif(not LARGE, reason="set CXOPT_BENCH_LARGE=1 to run the 10^8-customer benchmark")
def test_scale_one_machine_and_cluster():
    f = measure()
    print("\n" + report(f))
    assert f["single"]["peak_rss_mb_time_v"] < TARGET_RSS_MB, report(f)
    assert f["single"]["ratios"]["group_to_read"] < TARGET_GROUP_TO_READ, report(f)
    if "cluster" in f:
        assert f["cluster"]["stages"]["optimize"]["selected"] == f["single"]["stages"]["optimize"]["selected"]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    elif not LARGE:
        print("set CXOPT_BENCH_LARGE=1 to run the 10^8-customer benchmark (minutes, gigabytes of disk)")
    else:
        result = measure()
        print(report(result))
        print(json.dumps(result, indent=2), file=sys.stderr)
