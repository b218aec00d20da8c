"""The tracking result as a workbook (``cxopt track --out tracking.xlsx``), derived from
``Tracking.to_dict()``: Summary (the goal's probability before and now, the re-forecast),
Months (forecast against actual), Levels (per CX metric the scenario declares: the level
measured each month beside the forecast and the plan's; only when there is one), Initiatives
(state per initiative), Metrics (each process metric against its planned path) and Wins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from cxopt.report.xlsx import INTEGER, MONEY, NUMBER, SHARE, month_label, new_workbook, save_workbook, table

__all__ = ["tracking_workbook", "write_tracking_workbook"]


_BANDS = ("mean", "p10", "p50", "p90")


def _b(d: Mapping | None, k: str) -> Any:
    return (d or {}).get(k)


def _levels(ws, data: Mapping) -> None:
    """One row per declared CX metric and month: measured (blank where not), the forecast band
    after the evidence and the plan's band (``levels`` of the JSON)."""
    start = data.get("start")
    rows = [[name, v.get("label"), m["month"], month_label(start, m["month"]), m.get("measured"),
             *[_b(m.get("forecast"), k) for k in _BANDS], *[_b(m.get("planned"), k) for k in _BANDS]]
            for name, v in data["levels"].items() for m in v.get("months", [])]
    names = ["metric", "label", "month", "month label", "measured", *[f"forecast {_k(k)}" for k in _BANDS],
             *[f"planned {_k(k)}" for k in _BANDS]]
    table(ws, names, rows, formats=[None, None, INTEGER, None] + [NUMBER] * 9,
          comments=["the metric's name in the scenario ([metrics.<name>]) and the actuals' column", None, None,
                    "calendar month (text)", "the level measured that month (the actuals' column; blank: not given)",
                    "the level that month given the facts and the evidence so far (mean)", None, None, None,
                    "the plan's forecast level that month (mean)"])


def _k(k: str) -> str:
    return "mean" if k == "mean" else k.upper()


def tracking_workbook(data: Mapping):
    """The workbook of ``Tracking.to_dict()``."""
    wb = new_workbook()
    cur = data.get("currency", "")
    goal, ref = data.get("goal_probability", {}), data.get("reforecast", {})
    rows = [("Scenario", data.get("scenario"), None),
            ("Probability the goal is met, at planning", goal.get("before"), SHARE),
            ("Probability the goal is met, now", goal.get("now"), SHARE),
            ("Target churn rate", goal.get("target_churn_rate"), SHARE)]
    for key, label, fmt in (("churn_rate", "Churn rate", SHARE), ("planned_churn_rate", "Planned churn rate", SHARE),
                            ("retained_revenue", f"Retained revenue ({cur})", MONEY),
                            ("planned_retained_revenue", f"Planned retained revenue ({cur})", MONEY)):
        rows += [(f"{label} {k.upper() if k != 'mean' else 'mean'}", _b(ref.get(key), k), fmt)
                 for k in ("mean", "p10", "p50", "p90")]
    for name, v in (data.get("levels") or {}).items():  # the level in the horizon's last month
        label = f"{v.get('label') or name} level" + (f" ({v['unit']})" if v.get("unit") else "")
        rows += [(f"{label} today", v.get("today"), NUMBER)]
        for key, what in (("reforecast", "now"), ("planned", "planned")):
            rows += [(f"{label}, horizon's last month, {what} {_k(k)}", _b(v.get(key), k), NUMBER) for k in _BANDS]
    rows += [("Effective sample size", data.get("effective_sample_size"), NUMBER),
             ("Re-simulation advised", "yes" if data.get("resimulate_advised") else "no", None),
             ("Trials", data.get("trials"), INTEGER)]
    ws = wb.create_sheet("Summary")
    table(ws, ["Item", "Value"], [(k, v) for k, v, _ in rows])
    for r, (_, _, fmt) in enumerate(rows, start=2):
        if fmt:
            ws.cell(row=r, column=2).number_format = fmt
    start = data.get("start")
    months = [[m["month"], month_label(start, m["month"]), m.get("actual_customers_lost"),
               _b(m.get("forecast_customers_lost"), "p10"), _b(m.get("forecast_customers_lost"), "p50"),
               _b(m.get("forecast_customers_lost"), "p90"), _b(m.get("planned_customers_lost"), "p50"),
               m.get("actual_revenue_lost"), _b(m.get("forecast_revenue_lost"), "p10"),
               _b(m.get("forecast_revenue_lost"), "p50"), _b(m.get("forecast_revenue_lost"), "p90")]
              for m in data.get("months", [])]
    table(wb.create_sheet("Months"), ["month", "label", "customers lost (actual)", "forecast P10", "forecast P50",
                                      "forecast P90", "planned P50", f"revenue lost (actual, {cur})",
                                      "revenue forecast P10", "revenue forecast P50", "revenue forecast P90"], months,
          formats=[INTEGER, None, NUMBER, NUMBER, NUMBER, NUMBER, NUMBER, MONEY, MONEY, MONEY, MONEY],
          comments=[None, None, None, "the forecast given the facts so far (P10)"])
    if data.get("levels"):
        _levels(wb.create_sheet("Levels"), data)
    inits, paths = [], []
    for kid, d in data.get("initiatives", {}).items():
        metric = d.get("metric") or {}
        inits.append([kid, d.get("owner"), d.get("state"), d.get("status"), _b(d.get("golive_month"), "p50"),
                      d.get("contribution"), d.get("planned_contribution"), d.get("metric_name"),
                      metric.get("observed"), metric.get("planned"), metric.get("progress"), metric.get("planned_progress")])
        paths += [[kid, p.get("month"), p.get("observed"), p.get("planned")] for p in d.get("metric_path", [])]
    table(wb.create_sheet("Initiatives"), ["initiative", "owner", "state", "status", "go-live P50", "contribution",
                                           "planned contribution", "metric", "observed", "planned", "progress",
                                           "planned progress"], inits,
          formats=[None, None, None, None, NUMBER, MONEY, MONEY, None, NUMBER, NUMBER, SHARE, SHARE])
    table(wb.create_sheet("Metrics"), ["initiative", "month", "observed", "planned"], paths,
          formats=[None, INTEGER, NUMBER, NUMBER])
    table(wb.create_sheet("Wins"), ["initiative", "owner", "why"],
          [[w.get("initiative"), w.get("owner"), w.get("why")] for w in data.get("wins", [])])
    return wb


def write_tracking_workbook(data: Mapping, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write :func:`tracking_workbook` to ``path`` atomically (never over a file without ``force``)."""
    return save_workbook(tracking_workbook(data), path, force=force)
