"""Simulation-based calibration of tracking (issue 13): 200 true worlds, 3, 6 and 9 months.

Each true world is drawn from the prior by a fresh simulation with its own seed (never one
of the plan's trials), evaluated customer by customer in plain NumPy and its monthly losses
drawn customer by customer, with month-to-month shocks of the size the default dispersion
stands for (``cxopt.bench.truth``). The plan is tracked on the world's first 3, 6 and 9
months; the truth is the world's horizon churn (observed months as they happened, its
expected losses for the rest). Checked, at each month count:

* the P10–P90 band covers the truth in 70–90% of the worlds;
* the truth's rank among the posterior draws (its posterior CDF value) is uniform:
  Kolmogorov–Smirnov test at 1%;
* the band narrows as months are added;
* the effective sample size of the last month's weights stays above 30% of the particles.

    /work/venv/bin/python -m pytest benchmarks/bench_track_calibration.py -s     (about 15 min on 2 cores)

Environment: CXOPT_CAL_WORLDS (200), CXOPT_CAL_CUSTOMERS (20000), CXOPT_CAL_PARTICLES (500).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

import cxopt
from cxopt.bench.truth import actuals_csv, true_world
from cxopt.tracking.evidence import DEFAULT_DISPERSION

ROOT = Path(__file__).resolve().parents[1]
WORLDS = int(os.environ.get("CXOPT_CAL_WORLDS", 200))
CUSTOMERS = int(os.environ.get("CXOPT_CAL_CUSTOMERS", 20_000))
PARTICLES = int(os.environ.get("CXOPT_CAL_PARTICLES", 500))
MONTHS = (3, 6, 9)


def posterior_cdf(samples: np.ndarray, weights: np.ndarray, truth: float, rng: np.random.Generator) -> float:
    """The truth's rank among weighted posterior draws, ties broken at random (a uniform under calibration)."""
    below = float(np.sum(weights[samples < truth]))
    tied = float(np.sum(weights[samples == truth]))
    return below + rng.random() * tied


def run() -> dict:
    sc = cxopt.load_scenario(ROOT / "scenarios" / "bottom_up_article.toml")
    base = cxopt.CustomerBase.synthetic(sc, n=CUSTOMERS, seed=11)
    sim = cxopt.simulate(sc, base, trials=2_000, seed=5)
    plan = cxopt.build_plan(cxopt.optimize(sim))
    workdir = Path(tempfile.mkdtemp(prefix="cxopt-cal-"))
    stored = cxopt.load_plan(cxopt.save_plan(plan, workdir / "plan"))
    selected = list(plan.result.selected)
    rng = np.random.default_rng(2027)
    rows: dict[int, list] = {m: [] for m in MONTHS}
    t0 = time.perf_counter()
    for i in range(WORLDS):
        world = true_world(sc, base, selected, seed=1_000_000 + i, dispersion=DEFAULT_DISPERSION)
        for months in MONTHS:
            path = workdir / "actuals.csv"
            path.write_text(actuals_csv(world, months))
            r = cxopt.track(stored, path, particles=PARTICLES)
            truth = world.horizon_churn(months)
            band = r.reforecast["churn_rate"]
            rows[months].append({
                "covered": band["p10"] <= truth <= band["p90"], "width": band["p90"] - band["p10"],
                "pit": posterior_cdf(r.samples["churn_rate"], r.weights, truth, rng),
                "ess_share": r.effective_sample_size / r.particles,
            })
    out = {"worlds": WORLDS, "customers": CUSTOMERS, "particles": PARTICLES, "seconds": time.perf_counter() - t0}
    for months, rs in rows.items():
        pit = np.array([x["pit"] for x in rs])
        out[months] = {"coverage": float(np.mean([x["covered"] for x in rs])),
                       "width": float(np.mean([x["width"] for x in rs])),
                       "ks_pvalue": float(stats.kstest(pit, "uniform").pvalue),
                       "min_ess_share": float(np.min([x["ess_share"] for x in rs]))}
    return out


def report(out: dict) -> str:
    lines = [f"tracking calibration: {out['worlds']} true worlds, {out['customers']:,} customers, "
             f"{out['particles']} particles, {out['seconds']:.0f} s"]
    for months in MONTHS:
        m = out[months]
        lines.append(f"  {months} months: P10-P90 covers {100 * m['coverage']:.1f}% (target 70-90%), "
                     f"rank uniformity KS p = {m['ks_pvalue']:.3f} (> 0.01), band width {100 * m['width']:.2f} pts, "
                     f"lowest ESS {100 * m['min_ess_share']:.0f}% of the particles")
    return "\n".join(lines)


def test_tracking_is_calibrated_on_true_worlds():
    out = run()
    print("\n" + report(out))
    for months in MONTHS:
        m = out[months]
        assert 0.70 <= m["coverage"] <= 0.90, (months, m)
        assert m["ks_pvalue"] > 0.01, (months, m)
        assert m["min_ess_share"] > 0.30, (months, m)
    assert out[3]["width"] > out[6]["width"] > out[9]["width"]


if __name__ == "__main__":
    print(report(run()))
