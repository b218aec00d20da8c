"""Tracking a plan made on 10,000,000 customers and 10,000 trials over 12 months of actuals
(issue 13: under 10 s on 2 cores).

Tracking never touches the customer base: the plan directory keeps the grouped statistics
and the per-trial draws, so a month-end re-forecast costs O(groups x particles x moves),
whatever the base's size. The actuals: twelve months of losses of a world drawn with
another seed (its monthly path on the grouped statistics, with negative binomial noise of
the default dispersion), and one initiative cancelled in month 3.

Timed: ``track(PLAN_DIR, ACTUALS_CSV)`` end to end, as ``cxopt track`` runs it (reading the
plan directory and the actuals included), and ``track(stored_plan, actuals)`` on objects
already in memory, with the default particles (1,000: fewer than the trials, the count the
calibration ``bench_track_calibration.py`` holds for); once more with one particle per
trial. Reported beside the time: the sampler's moves and the cost of one move (the
rejuvenation: every particle's proposal, its monthly path in one numba call, the likelihood
of every month so far), wall and CPU, and its ratio to the plan's own simulation; the
reference is what tracking replaces: re-simulating the base (the grouping pass over the
customers plus the evaluation of the value tables), as measured while making the plan.
Best of several rounds, with the CPU seconds and the machine's load average beside it;
the 10 s target is reported (meets / MISSES), not asserted.

    /work/venv/bin/python -m pytest benchmarks/bench_track.py --benchmark-enable -s
    /work/venv/bin/python benchmarks/bench_track.py          # the same, as a script

Environment: CXOPT_BENCH_CUSTOMERS (10000000), CXOPT_BENCH_TRIALS (10000), CXOPT_BENCH_DIR (keep the
plan there and reuse it; default a temporary directory).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
import pytest

import cxopt
from cxopt.plan.build import build_plan
from cxopt.plan.store import load_plan
from cxopt.report.plandir import save_plan
from cxopt.tracking.track import read_actuals, track

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "bottom_up_article.toml"
CUSTOMERS = int(os.environ.get("CXOPT_BENCH_CUSTOMERS", 10_000_000))
TRIALS = int(os.environ.get("CXOPT_BENCH_TRIALS", 10_000))
SEED = 7
OBSERVED_MONTHS = 12
TARGET_SECONDS = 10.0


class Setup:
    """A plan directory on a large synthetic base, and an actuals file for it.

    With ``CXOPT_BENCH_DIR`` set, the plan, the actuals and the setup's timings are kept
    there and reused by the next run with the same customers and trials (making a plan on
    10,000,000 customers takes minutes; tracking it is what is measured).
    """

    def __init__(self, workdir: Path) -> None:
        self.seconds: dict[str, float] = {}
        sc = cxopt.load_scenario(SCENARIO)
        self.plan_dir = workdir / "plan"
        self.actuals_path = workdir / "actuals.csv"
        kept = workdir / "setup.json"
        if kept.is_file() and self.plan_dir.is_dir() and self.actuals_path.is_file():
            info = json.loads(kept.read_text())
            if info["customers"] == CUSTOMERS and info["trials"] == TRIALS:
                self.seconds, self.selected, self.cancelled = info["seconds"], info["selected"], info["cancelled"]
                self.stored = load_plan(self.plan_dir)
                self.actuals = read_actuals(self.actuals_path, self.stored)
                return
            shutil.rmtree(self.plan_dir)
        t0, c0 = time.perf_counter(), time.process_time()
        sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=CUSTOMERS), trials=TRIALS, seed=SEED)
        self.seconds["simulate"] = time.perf_counter() - t0
        self.seconds["simulate_cpu"] = time.process_time() - c0
        self.seconds["resimulate_reference"] = sim.seconds["group"] + sim.seconds["evaluate"]
        t0 = time.perf_counter()
        plan = build_plan(cxopt.optimize(sim))
        self.seconds["optimize_and_plan"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.plan_dir = save_plan(plan, self.plan_dir)
        self.seconds["save_plan"] = time.perf_counter() - t0
        self.selected = plan.result.selected_ids
        self.cancelled = self.selected[0]
        self.actuals_path.write_text(self._actuals_csv(sc, plan), encoding="utf-8")
        kept.write_text(json.dumps({"customers": CUSTOMERS, "trials": TRIALS, "seconds": self.seconds,
                                    "selected": self.selected, "cancelled": self.cancelled}))
        self.stored = load_plan(self.plan_dir)
        self.actuals = read_actuals(self.actuals_path, self.stored)

    def _actuals_csv(self, sc, plan) -> str:
        """Twelve months of losses of a world drawn with another seed; one initiative cancelled in month 3."""
        from cxopt.engine.draws import draw_trials
        from cxopt.engine.paths import monthly_path
        from cxopt.tracking.evidence import DEFAULT_DISPERSION

        world = monthly_path(plan.simulation, list(plan.result.selected), draws=draw_trials(sc, 1, SEED + 1))
        rng = np.random.default_rng(SEED)
        mu = world.customers_lost[0, :OBSERVED_MONTHS]
        k = DEFAULT_DISPERSION
        lost = rng.negative_binomial(k, k / (k + mu))
        header = f"month,customers_lost,{self.cancelled}.status"
        rows = [f"{m + 1},{lost[m]},{'cancelled' if m == 2 else ''}" for m in range(OBSERVED_MONTHS)]
        return "\n".join([header, *rows]) + "\n"

    def from_files(self):
        return track(self.plan_dir, self.actuals_path)

    def in_memory(self, particles: int | None = None):
        return track(self.stored, self.actuals, particles=particles)


def measure(setup: Setup, rounds: int = 5) -> dict:
    setup.in_memory()  # JIT compilation or cache load, not timed
    files_s, files_cpu, result = best_of(setup.from_files, rounds)
    memory_s, memory_cpu, in_memory = best_of(setup.in_memory, rounds)
    read_s, _, _ = best_of(lambda: read_actuals(setup.actuals_path, load_plan(setup.plan_dir)), rounds)
    all_s, all_cpu, every = best_of(lambda: setup.in_memory(particles=TRIALS), 1)  # one particle per trial
    sec = in_memory.seconds
    moves = max(sec.get("moves_count", 0), 1)
    return {
        "customers": CUSTOMERS, "trials": TRIALS, "threads": numba.get_num_threads(),
        "groups": int(setup.stored.groups.n_groups), "selected": setup.selected, "cancelled": setup.cancelled,
        "track_seconds": files_s, "track_cpu_seconds": files_cpu,
        "track_in_memory_seconds": memory_s, "track_in_memory_cpu_seconds": memory_cpu,
        "read_seconds": read_s,
        "resimulate_reference_seconds": setup.seconds["resimulate_reference"],
        "ratio": setup.seconds["resimulate_reference"] / files_s,
        "effective_sample_size": result.effective_sample_size, "particles": result.particles,
        "moves": result.sampler.get("moves", 0), "fractions": sum(result.sampler.get("fractions", [])),
        "move_seconds": sec.get("moves", 0.0) / moves, "move_cpu_seconds": sec.get("moves_cpu", 0.0) / moves,
        "moves_share": sec.get("moves", 0.0) / memory_s,
        "simulate_seconds": setup.seconds["simulate"],
        "simulate_cpu_seconds": setup.seconds.get("simulate_cpu", float("nan")),
        "ratio_to_simulation": setup.seconds["simulate"] / files_s,
        "move_share_of_simulation": sec.get("moves", 0.0) / moves / setup.seconds["simulate"],
        "all_particles": every.particles, "all_particles_seconds": all_s, "all_particles_cpu_seconds": all_cpu,
        "all_particles_moves": every.sampler.get("moves", 0),
        "all_particles_move_seconds": every.seconds.get("moves", 0.0) / max(every.seconds.get("moves_count", 0), 1),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
        **{f"setup_{k}_seconds": v for k, v in setup.seconds.items()},
    }


def report(m: dict) -> str:
    verdict = "meets" if m["track_seconds"] < TARGET_SECONDS else "MISSES"
    lines = [
        f"tracking, plan on {m['customers']:,} customers x {m['trials']:,} trials ({m['groups']} groups, "
        f"{m['threads']} threads, load average {m['load_average']:.1f}); "
        f"portfolio {', '.join(m['selected'])}; {m['cancelled']} cancelled, "
        f"{OBSERVED_MONTHS} months observed (ESS {m['effective_sample_size']:.0f} of {m['particles']:,} particles, "
        f"{m['moves']} moves over {m['fractions']} tempered steps)",
        f"  track(PLAN_DIR, ACTUALS)  {m['track_seconds']:7.3f} s  best ({m['track_cpu_seconds']:.3f} s CPU): "
        f"{verdict} the target < {TARGET_SECONDS:.0f} s",
        f"    of which reading      {m['read_seconds']:7.3f} s  (load_plan + read_actuals)",
    ]
    if "benchmark_min_seconds" in m:
        lines.append(f"    pytest-benchmark      {m['benchmark_min_seconds']:7.3f} s  min, "
                     f"{m['benchmark_median_seconds']:.3f} s median of 5 rounds")
    lines += [
        f"  track(plan, actuals)      {m['track_in_memory_seconds']:7.3f} s  best "
        f"({m['track_in_memory_cpu_seconds']:.3f} s CPU; already in memory), of which the moves "
        f"{100 * m['moves_share']:.0f}%",
        f"  one move (rejuvenation)   {m['move_seconds']:7.4f} s  ({m['move_cpu_seconds']:.4f} s CPU): "
        f"{m['particles']:,} particles' proposals, monthly paths and likelihoods; "
        f"{m['move_share_of_simulation']:.2e} of the plan's simulation",
        f"  with particles = trials   {m['all_particles_seconds']:7.3f} s  ({m['all_particles_cpu_seconds']:.3f} s CPU, "
        f"{m['all_particles']:,} particles, {m['all_particles_moves']} moves at "
        f"{m['all_particles_move_seconds']:.4f} s)",
        f"  re-simulating the base    {m['resimulate_reference_seconds']:7.3f} s  "
        f"(grouping pass + evaluation): tracking is {m['ratio']:.1f}x faster",
        f"  the plan's own simulation {m['simulate_seconds']:7.3f} s  ({m['simulate_cpu_seconds']:.1f} s CPU): "
        f"tracking takes {1 / m['ratio_to_simulation']:.3f}x of it",
        f"  setup: simulate {m['setup_simulate_seconds']:.1f} s, optimize + plan "
        f"{m['setup_optimize_and_plan_seconds']:.1f} s, save_plan {m['setup_save_plan_seconds']:.1f} s",
    ]
    return "\n".join(lines)


def workdir():
    """``CXOPT_BENCH_DIR`` (kept), or a temporary directory (removed)."""
    kept = os.environ.get("CXOPT_BENCH_DIR")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        yield Path(kept)
        return
    tmp = Path(tempfile.mkdtemp(prefix="cxopt-bench-track-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def setup():
    for where in workdir():
        yield Setup(where)


def test_track_large_plan(benchmark, setup):
    setup.in_memory()  # JIT compilation or cache load, not timed
    result = benchmark.pedantic(setup.from_files, rounds=5, iterations=1)
    m = measure(setup, rounds=3)
    if benchmark.enabled:
        stats = benchmark.stats.stats
        m["benchmark_min_seconds"], m["benchmark_median_seconds"] = stats.min, stats.median
    benchmark.extra_info.update(m)
    print("\n" + report(m))
    assert result.initiatives[setup.cancelled]["status"] == "cancelled"
    assert result.trials == TRIALS
    # The 10 s target is printed, not asserted: wall clock on a shared machine is not a
    # correctness property (the CPU seconds are printed beside it).


if __name__ == "__main__":
    for _where in workdir():
        print(report(measure(Setup(_where))))
