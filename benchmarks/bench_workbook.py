"""Writing plan.xlsx for the article plan (issue 18): target under 2 s.

The plan is the article scenario (``scenarios/bottom_up_article.toml``) on a small synthetic
base (5,000 customers, 200 trials) with the report's budget frontier; building it is not
timed. Timed: :func:`cxopt.report.workbook_plan.plan_workbook` from ``plan.to_dict()``, the
frontier and the scenario's inputs, saved to a file (what ``save_plan`` does), and the
actuals template beside it. The reference in the same run is the other human file of the plan
directory, report.html (Markdown, plots as data URIs), printed as a ratio.

    /work/venv/bin/python -m pytest benchmarks/bench_workbook.py --benchmark-enable -s
    /work/venv/bin/python benchmarks/bench_workbook.py          # the same, as a script
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import cxopt
from cxopt.plan.build import build_plan
from cxopt.portfolio.search import frontier as run_frontier
from cxopt.report.html import plan_html
from cxopt.report.summary import frontier_summary
from cxopt.report.workbook_plan import actuals_template, plan_workbook
from cxopt.report.workbook_scenario import scenario_data

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "bottom_up_article.toml"
CUSTOMERS, TRIALS, SEED = 5_000, 200, 20261122
TARGET_SECONDS = 2.0


class Setup:
    """The article plan, its frontier, and a directory to write into."""

    def __init__(self, workdir: Path) -> None:
        sc = cxopt.load_scenario(SCENARIO)
        sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=CUSTOMERS), trials=TRIALS, seed=SEED)
        result = cxopt.optimize(sim)
        self.plan = build_plan(result)
        self.data = self.plan.to_dict()
        total = float(result.constraints.budget.sum())
        grid = np.linspace(0.25 * total, 2.0 * total, 6)
        self.frontier = frontier_summary(sim, grid, run_frontier(sim, grid))
        self.inputs = scenario_data(sc)
        self.workdir = workdir

    def plan_xlsx(self) -> Path:
        path = self.workdir / "plan.xlsx"
        plan_workbook(self.data, frontier=self.frontier, scenario_data=self.inputs).save(path)
        return path

    def actuals_xlsx(self) -> Path:
        path = self.workdir / "actuals-template.xlsx"
        actuals_template(self.data).save(path)
        return path

    def report_html(self) -> str:
        sim = self.plan.simulation
        return plan_html(self.data, frontier=self.frontier,
                         trials={"baseline": sim.baseline_revenue, "portfolio": self.plan.result.revenue})


def measure(setup: Setup, rounds: int = 5) -> dict:
    plan_s, plan_cpu, path = best_of(setup.plan_xlsx, rounds)
    actuals_s, _, _ = best_of(setup.actuals_xlsx, rounds)
    html_s, _, _ = best_of(setup.report_html, max(1, rounds // 2))
    return {"plan_xlsx_seconds": plan_s, "plan_xlsx_cpu_seconds": plan_cpu, "plan_xlsx_bytes": path.stat().st_size,
            "actuals_template_seconds": actuals_s, "report_html_seconds": html_s,
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")}


def report(m: dict) -> str:
    verdict = "meets" if m["plan_xlsx_seconds"] < TARGET_SECONDS else "MISSES"
    return "\n".join([
        f"plan.xlsx for the article plan ({CUSTOMERS:,} customers x {TRIALS} trials; load average "
        f"{m['load_average']:.1f})",
        f"  plan.xlsx               {m['plan_xlsx_seconds']:7.3f} s best ({m['plan_xlsx_cpu_seconds']:.3f} s CPU, "
        f"{m['plan_xlsx_bytes'] / 1024:.0f} KiB): {verdict} the target < {TARGET_SECONDS:.0f} s",
        f"  actuals-template.xlsx   {m['actuals_template_seconds']:7.3f} s best",
        f"  report.html (reference) {m['report_html_seconds']:7.3f} s best: plan.xlsx takes "
        f"{m['plan_xlsx_seconds'] / m['report_html_seconds']:.2f}x its time",
    ])


@pytest.fixture(scope="module")
def setup():
    workdir = Path(tempfile.mkdtemp(prefix="cxopt-bench-workbook-"))
    try:
        yield Setup(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_plan_xlsx_for_the_article_plan(benchmark, setup):
    path = benchmark.pedantic(setup.plan_xlsx, rounds=5, iterations=1)
    m = measure(setup, rounds=3)
    if benchmark.enabled:
        m["benchmark_min_seconds"] = benchmark.stats.stats.min
    benchmark.extra_info.update(m)
    print("\n" + report(m))
    assert path.stat().st_size > 0
    # The 2 s target is printed, not asserted: wall clock on a shared machine is not a
    # correctness property (the CPU seconds are printed beside it).


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="cxopt-bench-workbook-") as tmp:
        print(report(measure(Setup(Path(tmp)))))
