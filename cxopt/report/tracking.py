"""The tracking page: actuals against the plan's forecast, as one self-contained HTML page.

Built from ``Tracking.to_dict()`` (``cxopt.track``) and nothing else — no number is
recomputed from the model, the only arithmetic is a difference (now minus planned) and
whether an actual month fell inside the planned band. The page is the plan report's own
shell (``report/html.py``: the same Content-Security-Policy, style sheet, escaping and
image-count script) around these sections:

* where the goal stands: the probability of meeting it, when planned and now, and the
  re-forecast of retained revenue and churn against the plan's; the effective sample size
  and, below the threshold, the advice to re-simulate;
* month by month: the forecast fan of customers lost (the plan's P10–P90 band and P50, the
  re-weighted band and P50) with the actual months drawn over it as points, and its table;
* the initiatives: owner, status, state, process metric, contribution now vs planned, and
  one small plot per initiative of its process metric (planned path, observed points);
* per CX metric the scenario declares (``levels``): the level measured each month beside the
  forecast band, and the level's re-forecast for the horizon's last month;
* the wins to announce.

Optional keys ``scenario``, ``currency`` and ``start`` (YYYY-MM-DD) in the dict, when
present, name the page, the money and the months; without them money is unit-less and
months are numbered 1..H.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from cxopt.report.html import page_html
from cxopt.report.markdown import Bullets, Paragraph, PlotSlot, Section, Table, band, num, signed
from cxopt.report.plots import (ACCENT, BASELINE, LOSS, PORTFOLIO, Plot, figure_style, month_labels, render,
                    short_label)
from cxopt.report.terminal import money, pct

__all__ = ["tracking_html", "tracking_sections", "tracking_plots", "fan_figure", "metric_figure"]

STATE_TEXT = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track"}
STATE_COLOUR = {"on_track": PORTFOLIO, "at_risk": ACCENT, "off_track": LOSS}


def _count(x: float) -> str:
    return f"{x:,.0f}"


def _pts(x: float) -> str:
    return f"{100 * x:.1f} pts"


def _labels(d: dict) -> list[str]:
    return month_labels(len(d["months"]), d.get("start"))


def _actual_months(d: dict) -> list[dict]:
    return [m for m in d["months"] if m.get("actual_customers_lost") is not None]


def _metric_key(kid: str) -> str:
    return f"metric-{kid}"


def _has_path(v: dict) -> bool:
    return bool(v.get("metric_path"))


def _versus_band(actual: float, band: dict) -> str:
    if actual > band["p90"]:
        return "above the planned band"
    if actual < band["p10"]:
        return "below the planned band"
    return "within the planned band"


# ---------------------------------------------------------------- sections


def _headline(d: dict) -> Section:
    cur = d.get("currency", "")
    fm = lambda x: money(x, cur)  # noqa: E731
    rf, gp = d["reforecast"], d["goal_probability"]
    labels = _labels(d)
    seen = _actual_months(d)
    upto = f" With actual losses up to {labels[seen[-1]['month'] - 1]}." if seen else ""
    statement = (f"Probability of keeping churn at or below {pct(gp['target_churn_rate'])} over the horizon: "
                 f"{pct(gp['before'], 0)} when planned, {pct(gp['now'], 0)} now.{upto}")
    rows = []
    for label, now, planned, fmt, dfmt in [
            ("Retained revenue", rf["retained_revenue"], rf["planned_retained_revenue"], fm, fm),
            ("Churn rate", rf["churn_rate"], rf["planned_churn_rate"], pct, _pts)]:
        rows.append([label, fmt(planned["mean"]), band(planned, fmt), fmt(now["mean"]), band(now, fmt),
                     signed(now["mean"] - planned["mean"], dfmt)])
    rows.append(["Probability of meeting the goal", pct(gp["before"], 0), "", pct(gp["now"], 0), "",
                 signed(gp["now"] - gp["before"], lambda x: f"{100 * x:.0f} pts")])
    table = Table(["", "Planned mean", "Planned P10–P90", "Re-forecast mean", "Re-forecast P10–P90",
                   "Change"], rows)
    ess, n = d["effective_sample_size"], d.get("particles", d["trials"])
    how = (f"{n:,} particles (possible worlds, {d.get('particles_unique', n):,} distinct), started from the "
           f"plan's own trials")
    disp = d.get("dispersion", {})
    evidence = (f"The actuals update the uncertain inputs month by month (sequential Monte Carlo with "
                f"resample-move over {how}); the last month's weights had an effective sample size of {ess:,.0f}. "
                f"Monthly losses are scored with a negative binomial of dispersion {disp.get('value', 0):,.0f} "
                f"({disp.get('how', 'default')}). The re-forecast takes the observed months as they were and the "
                f"updated forecast for the rest.")
    blocks: list = [Paragraph(statement, lead="Goal."), table, Paragraph(evidence, lead="Evidence.")]
    return Section("goal", "Where the goal stands", blocks)


def _months(d: dict) -> Section:
    labels = _labels(d)
    rows = []
    for m in d["months"]:
        planned, now = m["planned_customers_lost"], m["forecast_customers_lost"]
        actual = m["actual_customers_lost"]
        rows.append([labels[m["month"] - 1], "" if actual is None else _count(actual), _count(planned["p50"]),
                     band(planned, _count), _count(now["p50"]), band(now, _count),
                     "" if actual is None else _versus_band(actual, planned)])
    table = Table(["Month", "Actual", "Planned P50", "Planned P10–P90", "Re-forecast P50",
                   "Re-forecast P10–P90", "Actual vs plan"], rows, align="lrrrrrl")
    text = ("Customers lost each month: the plan's forecast (P10–P90 band and P50), the re-forecast after "
            "the facts and the evidence, and the actual months.")
    return Section("months", "Month by month: customers lost", [Paragraph(text), PlotSlot("fan"), table])


def _metric_cell(v: dict, labels: list[str]) -> str:
    name = v.get("metric_name")
    if not name:
        return "—"
    last = v.get("metric")
    if not last:
        return f"{name}: not reported yet"
    return (f"{name}: {num(last['observed'])} vs {num(last['planned'])} planned "
            f"({labels[last['month'] - 1]})")


def _initiatives(d: dict) -> Section:
    cur = d.get("currency", "")
    fm = lambda x: money(x, cur)  # noqa: E731
    inits = d.get("initiatives") or {}
    labels = _labels(d)
    if not inits:
        return Section("initiatives", "Initiatives", [Paragraph("The plan has no initiative to track.")])
    rows = []
    for kid, v in inits.items():
        planned = v.get("planned_contribution")
        rows.append([kid, v.get("owner") or "", v["status"], STATE_TEXT.get(v["state"], v["state"]),
                     _metric_cell(v, labels), fm(v["contribution"]),
                     "—" if planned is None else fm(planned),
                     "" if planned is None else signed(v["contribution"] - planned, fm)])
    table = Table(["Initiative", "Owner", "Status", "State", "Process metric (latest vs planned)",
                   f"Contribution now ({cur})" if cur else "Contribution now", "Planned", "Change"],
                  rows, align="lllllrrr")
    note = ("Contribution: the initiative's share (Shapley value) of the retained revenue gain, on the "
            "trials as the facts and the evidence weight them, against the plan's. State: a cancelled "
            "initiative is off track, a delayed one at risk (off track if it cannot go live within the "
            "horizon); otherwise the process metric's progress toward its target against the planned "
            "progress decides.")
    blocks: list = [table, Paragraph(note)]
    blocks += [PlotSlot(_metric_key(kid)) for kid, v in inits.items() if _has_path(v)]
    return Section("initiatives", "Initiatives", blocks)


def _wins(d: dict) -> Section:
    wins = d.get("wins") or []
    if not wins:
        return Section("wins", "Wins to announce",
                       [Paragraph("None yet: no initiative is ahead of its plan.")])
    items = [f"{w['initiative']} ({w.get('owner') or 'no owner'}): {w['why']}" for w in wins]
    return Section("wins", "Wins to announce", [Bullets(items)])


def _levels(d: dict) -> list[Section]:
    """Per declared CX metric: the level measured each month beside the forecast band, and its re-forecast."""
    labels = _labels(d)
    out = []
    for name, v in (d.get("levels") or {}).items():
        unit = f" {v['unit']}" if v.get("unit") else ""
        rows = [[labels[m["month"] - 1], "" if m["measured"] is None else num(m["measured"]),
                 num(m["planned"]["p50"]), band(m["forecast"], num), num(m["forecast"]["p50"]),
                 "" if m["measured"] is None else _versus_band(m["measured"], m["forecast"]).replace("planned", "forecast")]
                for m in v["months"]]
        table = Table(["Month", "Measured", "Planned P50", "Forecast P10–P90", "Forecast P50", "Measured vs forecast"],
                      rows, align="lrrrrl")
        text = (f"{v['label']}{unit}: today {num(v['today'])}; in the horizon's last month now "
                f"{num(v['reforecast']['p50'])} ({band(v['reforecast'], num)}), planned {num(v['planned']['p50'])} "
                f"({band(v['planned'], num)}). A measured level is evidence with a survey noise of "
                f"{num(v['level_sd'])}{unit} (sd).")
        out.append(Section(f"level-{name}", f"{v['label']} month by month", [Paragraph(text), table]))
    return out


def tracking_sections(d: dict) -> list[Section]:
    """The tracking page's sections, in order, from ``Tracking.to_dict()``."""
    return [_headline(d), _months(d), *_levels(d), _initiatives(d), _wins(d)]


# ---------------------------------------------------------------- plots


def _month_axis(ax, labels: list[str], dated: bool) -> None:
    H = len(labels)
    x = np.arange(1, H + 1)
    step = max(1, H // 12)
    ax.set_xticks(x[::step], labels[::step], rotation=30 if dated else 0, ha="right" if dated else "center")
    ax.set_xlim(0.5, H + 0.5)


def fan_figure(d: dict) -> Figure:
    """Customers lost per month: planned and re-weighted P10–P90 fans and P50s, actual months as points."""
    months = d["months"]
    H = len(months)
    x = np.arange(1, H + 1)
    pl = {q: np.array([m["planned_customers_lost"][q] for m in months]) for q in ("p10", "p50", "p90")}
    rf = {q: np.array([m["forecast_customers_lost"][q] for m in months]) for q in ("p10", "p50", "p90")}
    seen = _actual_months(d)
    with figure_style():
        fig = Figure(figsize=(7.5, 3.8), layout="constrained")
        ax = fig.add_subplot()
        ax.fill_between(x, pl["p10"], pl["p90"], step="mid", color=BASELINE, alpha=0.2,
                        label="planned P10–P90")
        ax.plot(x, pl["p50"], color=BASELINE, ls="--", lw=1.5, drawstyle="steps-mid", label="planned P50")
        ax.fill_between(x, rf["p10"], rf["p90"], step="mid", color=PORTFOLIO, alpha=0.25,
                        label="re-forecast P10–P90")
        ax.plot(x, rf["p50"], color=PORTFOLIO, lw=2, drawstyle="steps-mid", label="re-forecast P50")
        if seen:
            ax.plot([m["month"] for m in seen], [m["actual_customers_lost"] for m in seen], "o", color=ACCENT,
                    mec="white", mew=0.8, ms=7, zorder=5, label="actual")
            last = seen[-1]["month"]
            ax.axvline(last + 0.5, color=ACCENT, lw=0.8, ls=":")
        _month_axis(ax, _labels(d), bool(d.get("start")))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_ylabel("customers lost in the month")
        ax.set_title("Customers lost per month: plan, re-forecast and actuals (dotted: last actual)")
        fig.legend(loc="outside lower center", ncols=5, frameon=False, fontsize=8)
    return fig


def _fan_alt(d: dict) -> str:
    months, labels = d["months"], _labels(d)
    first, last = months[0], months[-1]
    planned = lambda m: _count(m["planned_customers_lost"]["p50"])  # noqa: E731
    now = lambda m: _count(m["forecast_customers_lost"]["p50"])  # noqa: E731
    text = (f"Fan chart of customers lost per month: planned P50 {planned(first)} in {labels[0]} and "
            f"{planned(last)} in {labels[-1]}, re-forecast P50 {now(first)} and {now(last)}")
    seen = _actual_months(d)
    if not seen:
        return text + "; no actual month yet."
    parts = "; ".join(f"{labels[m['month'] - 1]} {_count(m['actual_customers_lost'])} (planned P10–P90 "
                      f"{band(m['planned_customers_lost'], _count)})" for m in seen)
    return f"{text}. Actual months: {parts}."


def metric_figure(kid: str, v: dict, labels: list[str], dated: bool = False) -> Figure:
    """One initiative's process metric month by month: the planned path as a line, observations as points."""
    path = v["metric_path"]
    x = np.array([p["month"] for p in path])
    planned = np.array([p["planned"] for p in path])
    obs = [(p["month"], p["observed"]) for p in path if p.get("observed") is not None]
    name = v.get("metric_name") or "process metric"
    colour = STATE_COLOUR.get(v.get("state"), ACCENT)
    with figure_style():
        fig = Figure(figsize=(7.5, 2.3), layout="constrained")
        ax = fig.add_subplot()
        ax.plot(x, planned, color=BASELINE, lw=2, label="planned path")
        if obs:
            ax.plot([m for m, _ in obs], [y for _, y in obs], "o", color=colour, mec="white", mew=0.8, ms=7,
                    zorder=5, label="observed")
        _month_axis(ax, labels, dated)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: num(y)))
        state = STATE_TEXT.get(v.get("state"), v.get("state") or "")
        ax.set_title(f"{short_label(kid, 40)}: {short_label(name, 40)} ({v.get('status', '')}, {state})")
        ax.legend(frameon=False, loc="best", fontsize=8)
    return fig


def _metric_alt(kid: str, v: dict, labels: list[str]) -> str:
    path = v["metric_path"]
    name = v.get("metric_name") or "process metric"
    text = (f"{kid}'s process metric, {name}: planned from {num(path[0]['planned'])} in {labels[0]} "
            f"to "
            f"{num(path[-1]['planned'])} in {labels[-1]}")
    obs = [p for p in path if p.get("observed") is not None]
    if obs:
        text += "; observed " + "; ".join(f"{num(p['observed'])} in {labels[p['month'] - 1]} (planned "
                                          f"{num(p['planned'])})" for p in obs)
    else:
        text += "; not observed yet"
    return f"{text}. Status {v.get('status', '')}, {STATE_TEXT.get(v.get('state'), v.get('state') or '')}."


def tracking_plots(d: dict, fmt: str = "svg") -> dict[str, Plot]:
    """The fan chart (key ``fan``) and one process-metric plot per initiative (``metric-<id>``)."""
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    labels, dated = _labels(d), bool(d.get("start"))
    todo: list[tuple[str, str, Callable[[], Figure], Callable[[], str]]] = [
        ("fan", "Forecast fan with the actual months", lambda: fan_figure(d), lambda: _fan_alt(d))]
    for kid, v in (d.get("initiatives") or {}).items():
        if _has_path(v):
            todo.append((_metric_key(kid), "Process metric",
                         lambda kid=kid, v=v: metric_figure(kid, v, labels, dated),
                         lambda kid=kid, v=v: _metric_alt(kid, v, labels)))
    return {key: Plot(key, title, alt(), mime, render(build(), fmt)) for key, title, build, alt in todo}


# ---------------------------------------------------------------- the page


def tracking_html(d: dict, *, title: str | None = None) -> str:
    """One self-contained HTML page for a tracking result (``Tracking.to_dict()``).

    Parameters
    ----------
    d : dict
        The tracking result's plain-dict form.
    title : str, optional
        The page's title (plain text; escaped). Default: "CX plan tracking", with the
        scenario's name when ``d`` carries one.
    """
    from cxopt.version import __version__

    if title is None:
        title = "CX plan tracking" + (f" — {d['scenario']}" if d.get("scenario") else "")
    how = "particles"
    footer = (f"Generated by cxopt {__version__} from {d.get('particles', d['trials']):,} {how} (effective sample size "
              f"{d['effective_sample_size']:,.0f}). This page is self-contained: it loads nothing from the "
              f"network.")
    return page_html(title, tracking_sections(d), tracking_plots(d), footer)
