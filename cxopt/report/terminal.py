"""Terminal tables (rich) for the CLI's human-readable output."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text
from rich.table import Table

from cxopt.plan.risk import RiskReport

__all__ = ["print_risk", "print_levels", "money", "pct"]


def _row(table, *cells) -> None:
    """Add a row whose text cells are text, never markup: a name like ``Ops [/]`` or
    ``CRM rebuild [phase 2]`` prints as written."""
    table.add_row(*(escape(c) if isinstance(c, str) else c for c in cells))


def money(x: float, currency: str = "") -> str:
    ax = abs(x)
    if ax >= 1e9:
        s = f"{x / 1e9:,.2f}B"
    elif ax >= 1e6:
        s = f"{x / 1e6:,.2f}M"
    elif ax >= 1e4:
        s = f"{x / 1e3:,.1f}k"
    else:
        s = f"{x:,.0f}"
    return f"{s} {currency}".strip()


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def print_risk(report: RiskReport, console: Console) -> None:
    cur = report.currency
    t = Table(title=f"Market at risk today — {escape(report.scenario)}", title_justify="left")
    for col, just in [("pain point", "left"), ("volume given", "right"), ("measured", "right"),
                      ("severity (P10–P90)", "right"), ("customers lost", "right"),
                      ("revenue at risk", "right"), ("rank vol/rev", "center"), ("flags", "left")]:
        t.add_column(col, justify=just)
    for p in sorted(report.pain_points, key=lambda p: p.rank_revenue):
        flags = []
        if p.prevalence_trap:
            flags.append("prevalence trap")
        if p.silent_killer:
            flags.append("silent killer")
        given = "—" if p.volume_given is None else pct(p.volume_given)
        sev = f"{pct(p.severity['mean'])} ({pct(p.severity['p10'])}–{pct(p.severity['p90'])})"
        _row(t, p.name, given, pct(p.volume_measured), sev, f"{p.customers_lost['mean']:,.0f}",
                  money(p.revenue_at_risk["mean"], cur), f"{p.rank_volume}/{p.rank_revenue}", ", ".join(flags))
    console.print(t)
    console.print(
        f"Customers {report.customers:,}; revenue {money(report.revenue, cur)}.\n"
        f"Market at risk: [bold]{pct(report.market_at_risk['customers'])}[/bold] of customers, "
        f"[bold]{pct(report.market_at_risk['revenue'])}[/bold] of revenue.\n"
        f"Expected baseline churn {pct(report.baseline_churn_rate)}; "
        f"retained revenue {money(report.baseline_retained_revenue, cur)}."
    )
    by_volume = sorted(report.pain_points, key=lambda p: p.rank_volume)
    console.print(escape("Ranked by volume:  " + " > ".join(p.id for p in by_volume)))
    by_rev = sorted(report.pain_points, key=lambda p: p.rank_revenue)
    console.print(escape("Ranked by revenue: " + " > ".join(p.id for p in by_rev)))
    for x in report.delighters:
        by = ", ".join(x["delivered_by"]) or "no initiative"
        console.print(Text(f"Delighter {x['name']}: reach {pct(x['reach'])}, lift {pct(x['lift']['mean'])} "
                           f"({pct(x['lift']['p10'])}–{pct(x['lift']['p90'])}) once delivered, by {by}."))


def _band(s: dict, fmt) -> str:
    return f"{fmt(s['mean'])} ({fmt(s['p10'])} – {fmt(s['p90'])})"


def print_simulation(summary: dict, console: Console) -> None:
    cur = summary["currency"]
    b = summary["baseline"]
    console.print(
        f"[bold]{escape(summary['scenario'])}[/bold] — {summary['customers']:,} customers, {summary['trials']:,} trials "
        f"({summary['mode']}), {summary['groups']:,} groups, {summary['seconds']:.2f} s"
    )
    console.print(f"Baseline retained revenue {_band(b['retained_revenue'], lambda x: money(x, cur))}; "
                  f"churn {_band(b['churn_rate'], pct)}  (mean, P10 – P90)")
    t = Table(title="Each initiative alone", title_justify="left")
    for col, just in [("initiative", "left"), ("owner", "left"), ("cost", "right"),
                      ("retained revenue gain: mean (P10 – P90)", "right"), ("churn points", "right")]:
        t.add_column(col, justify=just)
    rows = sorted(summary["initiatives"].items(), key=lambda kv: -kv[1]["gain"]["mean"])
    for kid, v in rows:
        _row(t, kid, v["owner"], money(v["cost"], cur), _band(v["gain"], lambda x: money(x, cur)),
                  f"{v['churn_points']['mean']:.2f}")
    console.print(t)


def print_plan(data: dict, console: Console) -> None:
    cur = data["currency"]
    fm = lambda x: money(x, cur)  # noqa: E731
    b, p = data["baseline"], data["portfolio"]
    console.print(f"[bold]{escape(data['scenario'])}[/bold] — {data['customers']:,} customers, {data['trials']:,} trials")
    if data.get("goal"):
        console.print(f"[bold]Goal:[/bold] {escape(data['goal']['statement'])}", markup=True, highlight=False)
    for name, m in data.get("metrics", {}).items():  # CX scores: levels before and after, never points lost alone
        bs, ps = m["baseline"], m["portfolio"]
        what = f"{m.get('label', name)} level" if m.get("today") is not None else \
            f"{m.get('label', name)} change from today"
        console.print(f"{what} ({m.get('unit', 'points')}): baseline {bs['mean']:.2f} (P10–P90 {bs['p10']:.2f}–"
                      f"{bs['p90']:.2f}) → portfolio {ps['mean']:.2f} (P10–P90 {ps['p10']:.2f}–{ps['p90']:.2f})",
                      markup=False, highlight=False)
    for t in data.get("target", []):
        console.print(f"Target {t['as_given']}: probability {100 * t['probability']:.1f}% "
                      f"(required {100 * t['confidence']:.0f}%): {'met' if t['met'] else 'NOT met'}",
                      markup=False, highlight=False)
    for r in data.get("requirements", []):
        console.print(f"Requirement {r['as_given']}: actual {r['actual']:.4g}: {'met' if r['met'] else 'NOT met'}",
                      markup=False, highlight=False)
    actions = {a["id"]: a for a in data.get("actions", [])}
    t = Table(title=f"Chosen portfolio (money in {cur})", title_justify="left")
    for col, just in [("initiative", "left"), ("owner", "left"), ("cost", "right"), ("go-live", "right"),
                      ("standalone gain", "right"), ("contribution (Shapley)", "right"), ("churn pts", "right")]:
        t.add_column(col, justify=just, no_wrap=col == "initiative")
    for kid, c in data["contribution_details"].items():
        gl = actions.get(kid, {}).get("golive_month", {})
        golive = "" if not gl else f"month {round(gl['p50'])}"
        _row(t, kid, c["owner"], money(c["cost"]), golive, money(c["standalone_revenue"]["mean"]),
                  money(c["revenue"]["mean"]), f"{c['churn_points']['mean']:.2f}")
    console.print(t)
    m = Table(title="Process metrics to watch", title_justify="left")
    for col in ("initiative", "metric", "baseline → target", "review"):
        m.add_column(col, no_wrap=col == "initiative")
    for kid in data["contribution_details"]:
        a = actions.get(kid, {})
        metric = a.get("metric")
        if metric:
            unit = metric.get("unit") or ""
            sep = "" if unit in ("%", "") else " "
            _row(m, kid, metric["name"], f"{metric['baseline']:g}{sep}{unit} → {metric['target']:g}{sep}{unit}",
                      a.get("review", ""))
    if m.row_count:
        console.print(m)
    budget = data.get("budget")
    btxt = "no limit" if budget is None else ", ".join(f"{k} {fm(v)}" for k, v in budget.items())
    console.print(escape(f"Total cost {fm(data['total_cost'])} (budget: {btxt})"))
    console.print(f"Retained revenue: baseline {_band(b['retained_revenue'], fm)} → portfolio "
                  f"{_band(p['retained_revenue'], fm)}  (mean, P10 – P90)")
    console.print(f"Churn: baseline {_band(b['churn_rate'], pct)} → portfolio {_band(p['churn_rate'], pct)}")
    console.print(f"Gain {_band(p['gain'], fm)}; market at risk {pct(data['market_at_risk']['customers'])} of customers, "
                  f"{pct(data['market_at_risk']['revenue'])} of revenue")
    s = data["solver"]
    console.print(f"Solver {s['name']}: {s['status']}, {s['candidates_evaluated']} candidates re-evaluated exactly, "
                  f"estimate−exact gap {fm(s['gap'])}, {s['seconds']:.2f} s")
    console.print(Text(f"objective: {s.get('objective_text') or s.get('objective', 'mean')}"))
    if s.get("expected_value"):
        console.print(Text(f"Expected value: baseline {_band(s['baseline_value'], fm)} → portfolio "
                           f"{_band(s['expected_value'], fm)}  (mean, P10 – P90)"))
    print_explained(data, console)


def print_explained(data: dict, console: Console) -> None:
    """The plan's explanations (report/explain_sections.py's tables): drivers, risk left, return, binds, voices."""
    from cxopt.report.explain_sections import explain_sections
    from cxopt.report.markdown import Bullets, Paragraph, Table as Block

    for section in explain_sections(data):
        for b in section.blocks:
            if isinstance(b, Block):
                t = Table(title=b.caption or section.title, title_justify="left")
                for col, a in zip(b.columns, b.alignment()):
                    t.add_column(col, justify="left" if a == "l" else "right")
                for row in b.rows:
                    t.add_row(*(Text(c) for c in row))  # user text: never markup
                console.print(t)
            elif isinstance(b, Paragraph):
                console.print(Text((b.lead + " " if b.lead else "") + b.text))
            elif isinstance(b, Bullets):
                for item in b.items:
                    console.print(Text("• " + item))


def print_frontier(data: dict, console: Console) -> None:
    cur = data["currency"]
    t = Table(title=f"Budget frontier — {escape(data['scenario'])}", title_justify="left")
    for col, just in [("budget", "right"), ("cost", "right"), ("gain", "right"), ("per extra unit", "right"),
                      ("initiatives", "left"), ("step return", "right"), ("hurdle", "left")]:
        t.add_column(col, justify=just)
    for r in data["frontier"]:
        if not r["feasible"]:
            _row(t, money(r["budget"], cur), "—", "infeasible", "", "", "", "")
            continue
        marginal = r.get("marginal_gain_per_unit")
        ret = r.get("return_per_cost")
        _row(t, money(r["budget"], cur), money(r["total_cost"], cur), money(r["gain"], cur),
             "" if marginal is None else f"{marginal:.2f}", ", ".join(r["selected"]),
             "" if ret is None else f"{ret:.2f}", "below hurdle" if r.get("below_hurdle") else "")
    console.print(t)
    if data.get("objective_text"):
        console.print(Text(f"objective: {data['objective_text']}"))


def print_tracking(data: dict, console: Console) -> None:
    rf, gp = data["reforecast"], data["goal_probability"]
    console.print(f"Re-forecast churn {_band(rf['churn_rate'], pct)} (planned {_band(rf['planned_churn_rate'], pct)})")
    console.print(f"Re-forecast retained revenue {_band(rf['retained_revenue'], money)} "
                  f"(planned {_band(rf['planned_retained_revenue'], money)})")
    console.print(f"Probability of meeting the goal (churn <= {pct(gp['target_churn_rate'])}): "
                  f"before {pct(gp['before'], 0)}, now {pct(gp['now'], 0)}; "
                  f"effective sample size {data['effective_sample_size']:.0f} of {data.get('particles', data['trials']):,} particles")
    t = Table(title="Month by month: customers lost", title_justify="left")
    for col in ("month", "actual", "forecast P50", "P10 – P90"):
        t.add_column(col, justify="right")
    for m in data["months"]:
        f = m["forecast_customers_lost"]
        actual = "" if m["actual_customers_lost"] is None else f"{m['actual_customers_lost']:,.0f}"
        _row(t, str(m["month"]), actual, f"{f['p50']:,.0f}", f"{f['p10']:,.0f} – {f['p90']:,.0f}")
    console.print(t)
    print_levels(data, console)
    t = Table(title="Initiatives", title_justify="left")
    for col in ("initiative", "owner", "status", "state", "contribution now", "planned"):
        t.add_column(col)
    for kid, v in data["initiatives"].items():
        planned = v.get("planned_contribution")
        _row(t, kid, v["owner"], v["status"], v["state"].replace("_", " "), money(v["contribution"]),
                  "" if planned is None else money(planned))
    console.print(t)
    for w in data["wins"]:
        console.print(escape(f"Win to announce: {w['initiative']} ({w['owner']}): {w['why']}"))


def _level(x: float | None) -> str:
    return "" if x is None else f"{x:,.2f}"


def print_levels(data: dict, console: Console) -> None:
    """Per CX metric the scenario declares (the tracking JSON's ``levels``): a table of the level
    measured each month beside the forecast (P50, P10 – P90) and the plan's P50, then the level
    re-forecast for the horizon's last month against the planned one."""
    for name, v in (data.get("levels") or {}).items():
        label = v.get("label") or name
        unit = f" ({v['unit']})" if v.get("unit") else ""
        t = Table(title=escape(f"{label} month by month{unit}"), title_justify="left")
        for col in ("month", "measured", "forecast P50", "P10 – P90", "planned P50"):
            t.add_column(col, justify="right")
        for m in v["months"]:
            f = m["forecast"]
            _row(t, str(m["month"]), _level(m["measured"]), _level(f["p50"]),
                 f"{_level(f['p10'])} – {_level(f['p90'])}", _level(m["planned"]["p50"]))
        console.print(t)
        rf, pl = v["reforecast"], v["planned"]
        today = "" if v.get("today") is None else f"today {_level(v['today'])}; "
        console.print(Text(f"{label}{unit}: {today}in the horizon's last month re-forecast {_level(rf['p50'])} "
                           f"(P10 – P90 {_level(rf['p10'])} – {_level(rf['p90'])}), planned {_level(pl['p50'])} "
                           f"(P10 – P90 {_level(pl['p10'])} – {_level(pl['p90'])}); survey noise "
                           f"{_level(v.get('level_sd'))} (sd)"))


def print_replan(data: dict, console: Console) -> None:
    """The re-plan: the old portfolio beside the new one, on the same posterior draws."""
    cur = data["plan"].get("currency", "")
    fm = lambda x: money(x, cur)  # noqa: E731
    kept = ", ".join(data["kept"]) or "none"
    console.print(Text(f"Re-plan after month {data['month']}: kept (live or spent) {kept}; "
                       f"cancelled {', '.join(data['cancelled']) or 'none'}; budget left "
                       + ("; ".join(f"{p} {fm(v)}" for p, v in data["budget_remaining"].items()) or "no limit")))
    t = Table(title=f"Old plan beside the new (money in {cur})", title_justify="left")
    for col in ("", "initiatives", "cost to come", "retained revenue (P10 – P90)", "churn (P10 – P90)"):
        t.add_column(col)
    for name in ("old", "new"):
        side = data[name]
        _row(t, name, Text(", ".join(side["selected"]) or "none"), fm(side["cost_to_come"]),
                  _band(side["retained_revenue"], fm), _band(side["churn_rate"], pct))
    console.print(t)
    console.print(f"Gain of the new plan over carrying on: {_band(data['gain_over_old'], fm)}")
