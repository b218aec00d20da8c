"""The plan as a workbook (``plan.xlsx``) and the owners' tracking sheet
(``actuals-template.xlsx``), both derived from ``plan.to_dict()`` (and the frontier summary):
nothing here computes the model (the template's planned CX levels, which plan.json does not
hold per month, come from :func:`planned_levels`, the engine's own level path).

plan.xlsx: Goal, Portfolio, Action plan, Monthly forecast (with a native chart), Frontier,
Assumptions (every input as given). actuals-template.xlsx: an ``Actuals`` sheet with the plan's
months as text labels, one column per figure ``cxopt track`` reads and the planned value
beside each (a declared CX metric's measured level beside the plan's forecast level that
month, :func:`planned_levels`), a ``Weekly metrics`` sheet for dated readings, and a ``Read
me`` sheet.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Mapping, Sequence

from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from cxopt.engine.levels import metric_level_path
from cxopt.engine.simulation import Simulation
from cxopt.engine.summary import summarise
from cxopt.report.xlsx import INTEGER, MONEY, NUMBER, SHARE, fit_widths, header, month_label, new_workbook, put, table

__all__ = ["plan_workbook", "actuals_template", "planned_metric", "planned_levels", "STATUSES", "PLANNED"]

STATUSES = ("planned", "live", "delayed", "cancelled")  # as cxopt track reads them
PLANNED = "planned "  # prefix of the columns the reader of actuals ignores
_PLANNED_FILL = PatternFill("solid", fgColor="EEEEEE")
_BANDS = ("mean", "p10", "p50", "p90")


def _band(d: Mapping | None) -> list[Any]:
    d = d or {}
    return [d.get(k) for k in _BANDS]


def _goal(ws, data: Mapping) -> None:
    goal, cur = data.get("goal", {}), data.get("currency", "")
    gain = goal.get("retained_revenue_gain", {})
    band = goal.get("band") or [None, None]
    risk = data.get("market_at_risk", {})
    rows = [("Scenario", data.get("scenario"), None), ("Goal", goal.get("statement"), None),
            ("Metric", goal.get("metric"), None), ("Baseline", goal.get("baseline"), SHARE),
            ("Target", goal.get("target"), SHARE), ("Target band P10", band[0], SHARE),
            ("Target band P90", band[1], SHARE), ("Date", goal.get("date"), None),
            ("Probability the target is met", goal.get("probability_met"), SHARE),
            ("Probability better than baseline", goal.get("probability_better_than_baseline"), SHARE),
            (f"Revenue kept ({cur}), mean", gain.get("mean"), MONEY), (f"Revenue kept ({cur}), P10", gain.get("p10"), MONEY),
            (f"Revenue kept ({cur}), P90", gain.get("p90"), MONEY),
            (f"Total cost ({cur})", data.get("total_cost"), MONEY),
            *[(f"Budget {k} ({cur})", v, MONEY) for k, v in (data.get("budget") or {}).items()],
            ("Market at risk, customers", risk.get("customers"), SHARE),
            ("Market at risk, revenue", risk.get("revenue"), SHARE),
            ("Initiatives", ", ".join(data.get("selected", [])), None)]
    table(ws, ["Item", "Value"], [(k, v) for k, v, _ in rows], comments=["", "from plan.json"])
    for r, (_, _, fmt) in enumerate(rows, start=2):
        if fmt:
            ws.cell(row=r, column=2).number_format = fmt
    ws.column_dimensions["B"].width = 100


def _portfolio(ws, data: Mapping) -> None:
    details = data.get("contribution_details", {})
    rows = []
    for a in data.get("actions", []):
        c = details.get(a["id"], {}).get("revenue") or a.get("contribution", {})
        m = a.get("metric") or {}
        golive = a.get("golive_month", {})
        rows.append([a["id"], a.get("name"), a.get("owner"), sum((a.get("cost") or {}).values()),
                     golive.get("p10"), golive.get("p50"), golive.get("p90"), a.get("success_probability"),
                     *_band(c), a.get("review"), m.get("name"), m.get("unit"), m.get("baseline"), m.get("target")])
    cur = data.get("currency", "")
    table(ws, ["id", "name", "owner", f"cost ({cur})", "go-live P10", "go-live P50", "go-live P90", "success",
               "contribution mean", "contribution P10", "contribution P50", "contribution P90", "review",
               "metric", "unit", "metric baseline", "metric target"], rows,
          formats=[None, None, None, MONEY, NUMBER, NUMBER, NUMBER, SHARE, MONEY, MONEY, MONEY, MONEY, None, None,
                   None, NUMBER, NUMBER],
          comments=[None, None, "the one person accountable", None, "go-live month from the start (P10)",
                    "go-live month (P50)", "go-live month (P90)", "chance it is delivered",
                    f"revenue kept per year ({cur}) it contributes (Shapley share), mean"])


def planned_metric(action: Mapping, month: int) -> float | None:
    """The metric the plan expects at ``month`` (the last checkpoint at or before it)."""
    value = None
    for cp in action.get("checkpoints", []):
        if cp["month"] <= month:
            value = cp["expected_metric"]
    return value


def _actions(ws, data: Mapping) -> None:
    rows = []
    for a in data.get("actions", []):
        m = a.get("metric") or {}
        for cp in a.get("checkpoints", []):
            rows.append([a["id"], a.get("owner"), cp["month"], m.get("name"), cp.get("expected_metric"), m.get("unit"),
                         a.get("review")])
    table(ws, ["initiative", "owner", "month", "metric", "expected", "unit", "review"], rows,
          formats=[None, None, INTEGER, None, NUMBER], comments=[None, None, "months from the start of the horizon"])


def _forecast(ws, data: Mapping) -> None:
    f = data.get("monthly_forecast", {})
    cl, rl = f.get("customers_lost", []), f.get("revenue_lost", [])
    start = data.get("start")
    rows = [[m + 1, month_label(start, m + 1), *_band(cl[m]), *_band(rl[m] if m < len(rl) else None)]
            for m in range(len(cl))]
    table(ws, ["month", "label", "customers lost mean", "customers lost P10", "customers lost P50", "customers lost P90",
               "revenue lost mean", "revenue lost P10", "revenue lost P50", "revenue lost P90"], rows,
          formats=[INTEGER, None, NUMBER, NUMBER, NUMBER, NUMBER, MONEY, MONEY, MONEY, MONEY],
          comments=[None, "calendar month (text)", "customers lost in the month with the portfolio (mean)"])
    if not rows:
        return
    n = len(rows) + 1
    for title, first, anchor in (("Customers lost per month (P10, P50, P90)", 4, "L2"),
                                 (f"Revenue lost per month ({data.get('currency', '')}; P10, P50, P90)", 8, "L20")):
        chart = LineChart()
        chart.title, chart.y_axis.title, chart.x_axis.title = title, None, "month"
        chart.add_data(Reference(ws, min_col=first, max_col=first + 2, min_row=1, max_row=n), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, min_row=2, max_row=n))
        chart.height, chart.width = 8, 18
        ws.add_chart(chart, anchor)


def _frontier(ws, data: Mapping, frontier: Mapping | None) -> None:
    if not frontier:
        put(ws, 1, 1, "No budget frontier: the scenario has no budget.")
        return
    rows = [[r.get("budget"), "yes" if r.get("feasible") else "no", ", ".join(r.get("selected", [])),
             r.get("total_cost"), *[(r.get("retained_revenue") or {}).get(k) for k in ("mean", "p10", "p90")],
             r.get("gain"), r.get("marginal_gain_per_unit")]
            for r in frontier.get("frontier", [])]
    table(ws, ["budget", "feasible", "initiatives", "cost", "retained revenue mean", "retained revenue P10",
               "retained revenue P90", "gain", "gain per extra unit"], rows,
          formats=[MONEY, None, None, MONEY, MONEY, MONEY, MONEY, MONEY, NUMBER],
          comments=[None, None, None, None, None, None, None, "mean retained revenue above the baseline",
                    "what the next unit of budget buys (between this budget and the previous)"])


def _flatten(value: Any, path: str, out: list) -> None:
    if hasattr(value, "describe") and hasattr(value, "kind"):  # a distribution
        out.append((path, float(value.params["value"]) if value.is_fixed else value.describe()))
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{path}[{i}]", out)
    elif isinstance(value, (list, tuple)):
        out.append((path, ", ".join(str(v) if not isinstance(v, list) else "[" + ", ".join(v) + "]" for v in value)))
    elif isinstance(value, _dt.date):  # a month as the label it was given (text, never an Excel date)
        out.append((path, f"{value:%Y-%m}" if value.day == 1 else value.isoformat()))
    else:
        out.append((path, value if isinstance(value, (int, float, str)) or value is None else str(value)))


def _assumptions(ws, data: Mapping, scenario_data: Mapping | None) -> None:
    rows: list = []
    if scenario_data:
        _flatten(scenario_data, "", rows)
    rows += [("run.trials", data.get("trials")), ("run.seed", data.get("seed")),
             ("run.customers", data.get("customers")), ("run.mode", data.get("mode")),
             ("run.solver", (data.get("solver") or {}).get("name")),
             ("run.solver_status", (data.get("solver") or {}).get("status"))]
    table(ws, ["input", "as given"], rows, comments=["the scenario field", "the value or distribution as given"])


def plan_workbook(data: Mapping, *, frontier: Mapping | None = None, scenario_data: Mapping | None = None):
    """plan.xlsx from ``plan.to_dict()``, the frontier summary and the scenario's data (its inputs)."""
    wb = new_workbook()
    _goal(wb.create_sheet("Goal"), data)
    _portfolio(wb.create_sheet("Portfolio"), data)
    _actions(wb.create_sheet("Action plan"), data)
    _forecast(wb.create_sheet("Monthly forecast"), data)
    _frontier(wb.create_sheet("Frontier"), data, frontier)
    _assumptions(wb.create_sheet("Assumptions"), data, scenario_data)
    for ws in wb.worksheets:
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.sheet_properties.pageSetUpPr.fitToPage = 1, True
        ws.print_title_rows = "1:1"
    return wb


def planned_levels(simulation: Simulation, portfolio: Iterable[int]) -> dict[str, list[dict]]:
    """Per CX metric the scenario declares in ``[metrics]``: the plan's forecast level in each
    month (index 0 = month 1; ``{mean, p10, p50, p90}`` over the plan's trials).

    The same function and trials as tracking's ``levels.<metric>.months[].planned``
    (:func:`cxopt.engine.levels.metric_level_path` on the plan's draws), so the template's
    planned level is the one the tracking result shows.
    """
    sel = sorted(int(k) for k in portfolio)
    out = {}
    for name in simulation.scenario.metrics:
        path = metric_level_path(simulation, sel, name)
        out[name] = [summarise(path[:, m]) for m in range(path.shape[1])]
    return out


def _level_columns(data: Mapping, levels: Mapping[str, Sequence[Mapping]] | None) -> list:
    """The measured level of each declared CX metric (``plan.json``'s ``metrics`` with a level
    today) and, where ``levels`` gives it, the plan's forecast level beside it."""
    cols = []
    for name, m in (data.get("metrics") or {}).items():
        if m.get("today") is None:  # a metric drivers name but [metrics] does not declare: no column
            continue
        label, unit = m.get("label") or name, m.get("unit") or "points"
        cols.append((name, f"{label} ({unit}): the level measured this month, e.g. a survey's {label}; leave "
                           "blank if not measured", None))
        path = (levels or {}).get(name)
        if path is not None:
            cols.append((PLANNED + name, f"the plan's forecast {label} level this month, P50 (ignored when read)",
                         lambda month, p=path: p[month - 1].get("p50") if month <= len(p) else None))
    return cols


def actuals_template(data: Mapping, levels: Mapping[str, Sequence[Mapping]] | None = None):
    """actuals-template.xlsx from ``plan.to_dict()``: months as text, a column per figure
    ``cxopt track`` reads and the planned value (grey) beside each; ``Weekly metrics`` for dated
    readings.

    Parameters
    ----------
    data : mapping
        ``plan.to_dict()``.
    levels : mapping, optional
        :func:`planned_levels` of the plan: the planned level beside each declared CX metric's
        measured-level column (without it the column has no planned value beside it).
    """
    wb = new_workbook()
    ws = wb.create_sheet("Actuals")
    actions = data.get("actions", [])
    fc = data.get("monthly_forecast", {})
    H = int(data.get("horizon_months") or len(fc.get("customers_lost", [])))
    cols: list[tuple[str, str, Any]] = [("month", "the month (text YYYY-MM, or 1..H); do not change", None),
                                        ("customers_lost", "customers lost in the month (actual)", None),
                                        (PLANNED + "customers_lost", "the plan's P50 (ignored when read)",
                                         lambda m: (fc.get("customers_lost") or [{}] * H)[m - 1].get("p50")),
                                        ("revenue_lost", "revenue lost in the month (actual)", None),
                                        (PLANNED + "revenue_lost", "the plan's P50 (ignored when read)",
                                         lambda m: (fc.get("revenue_lost") or [{}] * H)[m - 1].get("p50"))]
    level_names = set()
    for col in _level_columns(data, levels):
        cols.append(col)
        level_names.add(col[0])
    for a in actions:
        kid = a["id"]
        if a.get("metric"):
            unit = a["metric"].get("unit", "")
            cols += [(f"{kid}.metric", f"{a['metric'].get('name')} ({unit}), measured this month; owner: "
                                       f"{a.get('owner')}", None),
                     (f"{PLANNED}{kid}.metric", "the plan's expected metric (ignored when read)",
                      lambda m, a=a: planned_metric(a, m))]
        golive = (a.get("golive_month") or {}).get("p50")
        cols += [(f"{kid}.status", "planned, live, delayed or cancelled", None),
                 (f"{kid}.live_month", "the month it went live (0..H), once it has", None),
                 (f"{PLANNED}{kid}.live_month", "the plan's go-live month P50 (ignored when read)",
                  lambda m, g=golive: g)]
    header(ws, [c[0] for c in cols], [c[1] for c in cols])
    start = data.get("start")
    for m in range(1, H + 1):
        put(ws, m + 1, 1, month_label(start, m))
        for j, (name, _, planned) in enumerate(cols, start=1):
            if planned is not None:
                cell = put(ws, m + 1, j, planned(m), MONEY if "revenue" in name else NUMBER)
                cell.fill, cell.font = _PLANNED_FILL, Font(italic=True, color="666666")
    for j, (name, _, _) in enumerate(cols, start=1):
        if name.endswith(".status") and not name.startswith(PLANNED):
            dv = DataValidation(type="list", formula1='"' + ",".join(STATUSES) + '"', allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{ws.cell(row=2, column=j).column_letter}2:{ws.cell(row=2, column=j).column_letter}{H + 1}")
        elif name in level_names and not name.startswith(PLANNED):  # a level: any number (an NPS may be negative)
            dv = DataValidation(type="decimal", operator="between", formula1="-1E+300", formula2="1E+300",
                                allow_blank=True, showErrorMessage=True, errorTitle="A number",
                                error="The level measured this month, a number; leave blank if not measured.")
            ws.add_data_validation(dv)
            dv.add(f"{ws.cell(row=2, column=j).column_letter}2:{ws.cell(row=2, column=j).column_letter}{H + 1}")
    fit_widths(ws)
    weekly = wb.create_sheet("Weekly metrics")
    names = ["date"] + [f"{a['id']}.metric" for a in actions if a.get("metric")]
    header(weekly, names, ["the day of the reading as an ISO date, e.g. 2027-02-08"] +
           [f"{a['metric'].get('name')} ({a['metric'].get('unit', '')})" for a in actions if a.get("metric")])
    fit_widths(weekly, lo=14)
    note = wb.create_sheet("Read me")
    lines = [f"Monthly actuals for the plan '{data.get('scenario')}'.",
             "Fill in a COPY of this file kept outside the plan directory (the plan directory is replaced "
             "when the plan is re-made).",
             "Actuals: one row per month; leave a month empty until it has passed. Grey 'planned ...' "
             "columns are the plan's values, for comparison; they are ignored when read.",
             *([f"CX levels ({', '.join(sorted(n for n in level_names if not n.startswith(PLANNED)))}): the "
                "level measured that month (a survey of the customers), in the metric's points; blank if not "
                "measured. It is evidence on the initiatives' effects."] if level_names else []),
             "Weekly metrics: optional dated readings of the process metrics, one row per date (2027-02-08).",
             "Then: cxopt track PLAN_DIR your-copy.xlsx"]
    for i, line in enumerate(lines, start=1):
        put(note, i, 1, line)
    note.column_dimensions["A"].width = 110
    return wb
