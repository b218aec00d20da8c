"""The whole plan directory, assembled atomically: the data files and the human files.

``plan/`` persists the data (plan.json, scenario.json, Parquet); this module adds what people
read (plan.md, report.html, plan.xlsx, and actuals-template.xlsx for the owners) and moves the
lot into place at once, so a failure leaves the old directory or none, never half of one.
"""

from __future__ import annotations

from pathlib import Path

from cxopt.data.atomic import atomic_dir
from cxopt.plan.store import write_plan_data
from cxopt.report.html import plan_html
from cxopt.report.markdown import plan_markdown
from cxopt.report.workbook_plan import actuals_template, plan_workbook
from cxopt.report.workbook_scenario import scenario_data

__all__ = ["save_plan"]


def save_plan(plan, out: str | Path, *, force: bool = False, frontier: dict | None = None) -> Path:
    """Write the plan directory ``out`` atomically (all files or none).

    Parameters
    ----------
    plan : Plan
        From :func:`cxopt.build_plan`.
    out : path
        The directory to create; an existing one is replaced only with ``force=True``.
    frontier : dict, optional
        A budget frontier (``frontier_summary``) for the report's frontier plot.

    Returns
    -------
    Path
        ``out``.
    """
    sim = plan.simulation
    data = plan.to_dict()
    with atomic_dir(out, force=force) as tmp:
        write_plan_data(plan, tmp)
        (tmp / "plan.md").write_text(plan_markdown(data), encoding="utf-8")
        trials = {"baseline": sim.baseline_revenue, "portfolio": plan.result.revenue}
        (tmp / "report.html").write_text(plan_html(data, frontier=frontier, trials=trials), encoding="utf-8")
        plan_workbook(data, frontier=frontier, scenario_data=scenario_data(sim.scenario)).save(tmp / "plan.xlsx")
        actuals_template(data).save(tmp / "actuals-template.xlsx")
    return Path(out)
