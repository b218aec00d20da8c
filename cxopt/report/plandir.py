"""The whole plan directory, assembled atomically: the data files and the human files.

``plan/`` persists the data (plan.json, scenario.json, Parquet); this module adds what people
read (plan.md, report.html, plan.xlsx, and actuals-template.xlsx for the owners) and moves the
lot into place at once, so a failure leaves the old directory or none, never half of one.
"""

from __future__ import annotations

from pathlib import Path

import os

from cxopt.data.atomic import atomic_dir, check_output
from cxopt.errors import ArgumentError, Problem
from cxopt.plan.store import write_plan_data
from cxopt.report.html import plan_html
from cxopt.report.markdown import plan_markdown
from cxopt.report.workbook_plan import actuals_template, plan_workbook, planned_levels
from cxopt.report.workbook_scenario import scenario_data

__all__ = ["save_plan", "check_plan_out", "PLAN_FILES"]

#: Every file cxopt may write into a plan directory (data files: :mod:`cxopt.plan.store`; human
#: files: here; spreadsheets: the report stage). ``force`` replaces a directory only when it
#: holds plan.json and nothing but these.
PLAN_FILES = frozenset({
    "plan.json", "scenario.json", "scenario.toml", "groups.parquet", "trials.parquet",
    "plan.md", "report.html", "plan.xlsx", "actuals-template.xlsx",
})


def check_plan_out(out: str | os.PathLike, *, force: bool = False, parameter: str = "out") -> Path:
    """Check before any work that ``out`` can become a plan directory: absent, or (with
    ``force``) a plan directory cxopt wrote with no one else's files in it.

    Raises :class:`~cxopt.errors.OutputExistsError` without ``force``; :class:`ArgumentError`
    naming the path and the files cxopt did not write (an owner's actuals, an editor's lock
    file), or saying that the directory is not a plan, rather than delete them.
    """
    out = check_output(out, force=force, directory=True, parameter=parameter)
    if force and os.path.lexists(out):
        def bad(reason: str) -> ArgumentError:
            return ArgumentError(Problem("", parameter, f"{out}: {reason}; --force replaces only a plan "
                                                        "directory cxopt wrote, so nothing was changed"))

        if out.is_symlink() or not out.is_dir():
            if out.is_symlink() and not out.exists():
                return out  # a dangling link: nothing of anyone's is lost by replacing it
            raise bad("is not a plan directory")
        names = sorted(e.name for e in os.scandir(out))
        if "plan.json" not in names:
            raise bad("is not a plan directory (no plan.json)")
        foreign = [n for n in names if n not in PLAN_FILES or not (out / n).is_file() or (out / n).is_symlink()]
        if foreign:
            raise bad(f"holds files cxopt did not write: {', '.join(foreign)}; move them away first")
    return out



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
    check_plan_out(out, force=force)
    sim = plan.simulation
    data = plan.to_dict()
    with atomic_dir(out, force=force) as tmp:
        write_plan_data(plan, tmp)
        (tmp / "plan.md").write_text(plan_markdown(data), encoding="utf-8")
        trials = {"baseline": sim.baseline_revenue, "portfolio": plan.result.revenue}
        (tmp / "report.html").write_text(plan_html(data, frontier=frontier, trials=trials), encoding="utf-8")
        plan_workbook(data, frontier=frontier, scenario_data=scenario_data(sim.scenario)).save(tmp / "plan.xlsx")
        actuals_template(data, planned_levels(sim, plan.result.selected)).save(tmp / "actuals-template.xlsx")
    return Path(out)
