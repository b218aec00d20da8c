"""The report's plots: matplotlib ``Figure`` objects (no pyplot state) from ``Plan.to_dict()``.

Each ``*_figure`` function builds one figure from the plan's plain-dict form (and, for the
value distribution, optional per-trial arrays); :func:`render` turns a figure into SVG or
PNG bytes, and :func:`plan_plots` makes every plot the HTML page embeds, each with a title
and an alt text that states what the plot shows in numbers. Labels come from users
(scenario ids), so math text is off: a ``$`` is a dollar sign. SVG output is reproducible
(no date, fixed id salt).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from cxopt.report.terminal import money

__all__ = ["Plot", "render", "plan_plots", "distribution_figure", "waterfall_figure", "tornado_figure",
           "frontier_figure", "prevalence_figure", "forecast_figure", "figure_style", "short_label",
           "month_labels"]

BASELINE, PORTFOLIO, GAIN, LOSS = "#8a96a3", "#2b6cb0", "#2f855a", "#c53030"
ACCENT, GRID = "#dd6b20", "#e2e8f0"

_STYLE = {
    "text.parse_math": False,  # user text: "$200" is money, not math
    "svg.hashsalt": "cxopt",
    "svg.fonttype": "path",  # no font files needed by the viewer
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": GRID,
    "axes.axisbelow": True,
}


@dataclass(frozen=True)
class Plot:
    key: str
    title: str
    alt: str
    mime: str
    data: bytes


@contextmanager
def _style() -> Iterator[None]:
    with mpl.rc_context(_STYLE), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from")  # exotic characters in user labels
        yield


def render(fig: Figure, fmt: str = "svg", dpi: int = 110) -> bytes:
    """The figure as SVG or PNG bytes."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"fmt must be 'svg' or 'png', got {fmt!r}")
    buf = io.BytesIO()
    with _style():
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return buf.getvalue()


def _money_axis(axis, currency: str = "", ticks: int = 6) -> None:
    """Compact money ticks (the currency is in the axis label)."""
    del currency
    axis.set_major_locator(MaxNLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: money(x)))


def _short(text: str, n: int = 34) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def figure_style():
    """The report's matplotlib style as a context manager: build a ``Figure`` inside it."""
    return _style()


def short_label(text: str, n: int = 34) -> str:
    """A user label cut to ``n`` characters (with an ellipsis), as the report's plots show them."""
    return _short(text, n)


# ---------------------------------------------------------------- value distribution


def distribution_figure(d: dict, trials: Mapping[str, np.ndarray] | None = None) -> Figure:
    """Retained revenue per trial, baseline vs portfolio: histograms, or P10–P90 bands without trials."""
    cur = d["currency"]
    b, p = d["baseline"]["retained_revenue"], d["portfolio"]["retained_revenue"]
    with _style():
        fig = Figure(figsize=(7.5, 3.6), layout="constrained")
        ax = fig.add_subplot()
        if _has_trials(trials):
            tb = np.asarray(trials["baseline"], dtype=float)
            tp = np.asarray(trials["portfolio"], dtype=float)
            edges = np.histogram_bin_edges(np.concatenate([tb, tp]), bins=min(60, max(10, tb.size // 25)))
            ax.hist(tb, bins=edges, color=BASELINE, alpha=0.6, label="baseline (no initiative)")
            ax.hist(tp, bins=edges, color=PORTFOLIO, alpha=0.6, label="with the portfolio")
            for s, c in ((b, BASELINE), (p, PORTFOLIO)):
                ax.axvline(s["mean"], color=c, lw=1.5, ls="--")
            ax.set_ylabel("trials")
            ax.set_title(f"Retained revenue over {tb.size:,} trials (dashed: means)")
            ax.legend(frameon=False, loc="upper left")
        else:
            for y, s, c in ((1, b, BASELINE), (0, p, PORTFOLIO)):
                ax.barh(y, s["p90"] - s["p10"], left=s["p10"], height=0.5, color=c, alpha=0.35)
                ax.vlines(s["p50"], y - 0.25, y + 0.25, color=c, lw=2.5)
                ax.plot([s["mean"]], [y], "o", color=c, ms=6)
            ax.set_yticks([1, 0], ["baseline", "portfolio"])
            ax.set_ylim(-0.7, 1.7)
            ax.margins(x=0.08)
            ax.set_title("Retained revenue: P10–P90 band, P50 line, mean dot")
        _money_axis(ax.xaxis, cur)
        ax.set_xlabel(f"retained revenue over the horizon ({cur})")
    return fig


def _has_trials(trials) -> bool:
    return trials is not None and "baseline" in trials and "portfolio" in trials


def _distribution_alt(d: dict, trials) -> str:
    cur = d["currency"]
    b, p = d["baseline"]["retained_revenue"], d["portfolio"]["retained_revenue"]
    how = (f"Histograms of retained revenue over {len(trials['baseline']):,} trials"
           if _has_trials(trials) else "Retained revenue bands")
    fm = lambda x: money(x, cur)  # noqa: E731
    return (f"{how}: baseline mean {fm(b['mean'])} (P10–P90 {fm(b['p10'])} – {fm(b['p90'])}), "
            f"portfolio mean {fm(p['mean'])} (P10–P90 {fm(p['p10'])} – {fm(p['p90'])}).")


# ---------------------------------------------------------------- contribution waterfall


def waterfall_figure(d: dict) -> Figure:
    """Baseline retained revenue, each initiative's Shapley contribution, the portfolio."""
    cur = d["currency"]
    base = d["baseline"]["retained_revenue"]["mean"]
    port = d["portfolio"]["retained_revenue"]["mean"]
    det = d.get("contribution_details", {})
    labels = ["baseline"] + [_short(k, 24) for k in det] + ["portfolio"]
    steps = [c["revenue"]["mean"] for c in det.values()]
    span = max(sum(abs(s) for s in steps), abs(port - base), 1e-9 * max(abs(base), 1.0), 1.0)
    floor = min(base, port) - 0.6 * span  # the axis starts near the baseline, not at zero
    with _style():
        # wider with more initiatives (up to max_initiatives = every candidate): a bar and its label each
        fig = Figure(figsize=(max(7.5, 1.5 + 0.32 * len(labels)), 4.0), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(labels))
        ax.bar(x[0], base - floor, bottom=floor, color=BASELINE, width=0.6)
        level = base
        for i, s in enumerate(steps, start=1):
            ax.bar(x[i], s, bottom=level, color=GAIN if s >= 0 else LOSS, width=0.6)
            ax.annotate(("+" if s >= 0 else "−") + money(abs(s)), (x[i], level + max(s, 0)), ha="center",
                        va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
            if i < len(steps):
                ax.plot([x[i] + 0.3, x[i + 1] - 0.3], [level + s, level + s], color="#4a5568", lw=0.8)
            level += s
        ax.bar(x[-1], port - floor, bottom=floor, color=PORTFOLIO, width=0.6)
        for i, v in ((0, base), (len(labels) - 1, port)):
            ax.annotate(money(v), (x[i], v), ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                        textcoords="offset points")
        ax.set_ylim(floor, max(base, port, level) + 0.25 * span)
        ax.set_xticks(x, labels, rotation=25, ha="right")
        _money_axis(ax.yaxis, cur)
        ax.set_ylabel(f"retained revenue ({cur}); axis does not start at 0")
        ax.set_title("From baseline to portfolio: each initiative's Shapley contribution")
    return fig


def _waterfall_alt(d: dict) -> str:
    cur = d["currency"]
    det = d.get("contribution_details", {})
    parts = "; ".join(f"{k} {money(c['revenue']['mean'], cur)}" for k, c in det.items())
    base = d["baseline"]["retained_revenue"]["mean"]
    return (f"Waterfall from baseline retained revenue {money(base, cur)} "
            f"through each initiative's Shapley contribution ({parts or 'none'}) to the portfolio's "
            f"{money(d['portfolio']['retained_revenue']['mean'], cur)}.")


# ---------------------------------------------------------------- tornado


def tornado_figure(d: dict) -> Figure:
    """The portfolio's mean value when each input is low vs high, around the overall mean."""
    cur = d["currency"]
    rows = list(reversed(d.get("sensitivity") or []))  # largest swing on top
    centre = d["portfolio"]["retained_revenue"]["mean"]
    with _style():
        fig = Figure(figsize=(8.0, 1.5 + 0.32 * max(len(rows), 1)), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(rows))
        ax.barh(y, [r["low"] - centre for r in rows], left=centre, color=BASELINE, height=0.6)
        ax.barh(y, [r["high"] - centre for r in rows], left=centre, color=PORTFOLIO, height=0.6)
        ax.axvline(centre, color="#2d3748", lw=1)
        ax.set_yticks(y, [_short(r["input"], 48) for r in rows])
        ax.grid(axis="y", visible=False)
        _money_axis(ax.xaxis, cur, ticks=5)
        ax.set_xlabel(f"portfolio retained revenue, mean over the trials ({cur})")
        ax.set_title("What drives the spread of the portfolio's value")
        fig.legend(handles=[Patch(color=BASELINE, label="input low (bottom decile / not delivered)"),
                            Patch(color=PORTFOLIO, label="input high (top decile / delivered)")],
                   loc="outside lower center", ncols=2, frameon=False, fontsize=8)
    return fig


def _tornado_alt(d: dict) -> str:
    cur = d["currency"]
    rows = (d.get("sensitivity") or [])[:3]
    top = "; ".join(f"{r['input']} (swing {money(r['swing'], cur)})" for r in rows)
    return f"Tornado chart of the inputs that move the portfolio's retained revenue most: {top}."


# ---------------------------------------------------------------- budget frontier


def frontier_figure(frontier: dict, d: dict | None = None) -> Figure:
    """Gain in retained revenue of the best portfolio at each budget; the plan's own point marked."""
    cur = frontier.get("currency", "")
    rows = frontier["frontier"]
    ok = [r for r in rows if r.get("feasible")]
    with _style():
        fig = Figure(figsize=(7.5, 3.8), layout="constrained")
        ax = fig.add_subplot()
        ax.plot([r["budget"] for r in ok], [r["gain"] for r in ok], "-o", color=PORTFOLIO,
                label="best portfolio")
        for r in ok:
            ax.annotate(f"{len(r['selected'])}", (r["budget"], r["gain"]), xytext=(0, 6),
                        textcoords="offset points", ha="center", fontsize=8, color="#4a5568")
        bad = [r["budget"] for r in rows if not r.get("feasible")]
        if bad:
            ax.plot(bad, [0.0] * len(bad), "x", color=LOSS, label="infeasible")
        if d is not None and d.get("budget"):
            plan_budget = float(sum(d["budget"].values()))
            ax.axvline(plan_budget, color=ACCENT, ls="--", lw=1)
            ax.plot([plan_budget], [d["portfolio"]["gain"]["mean"]], "*", color=ACCENT, ms=12,
                    label="this plan")
        _money_axis(ax.xaxis, cur)
        _money_axis(ax.yaxis, cur)
        ax.set_xlabel(f"budget ({cur})")
        ax.set_ylabel(f"gain in retained revenue ({cur})")
        ax.set_title("Budget frontier (labels: number of initiatives)")
        ax.legend(frameon=False, loc="lower right")
    return fig


def _frontier_alt(frontier: dict) -> str:
    cur = frontier.get("currency", "")
    ok = [r for r in frontier["frontier"] if r.get("feasible")]
    if not ok:
        return "Budget frontier: no budget in the sweep is feasible."
    fm = lambda x: money(x, cur)  # noqa: E731
    return (f"Budget frontier: the best portfolio's gain goes from {fm(ok[0]['gain'])} at a budget of "
            f"{fm(ok[0]['budget'])} to {fm(ok[-1]['gain'])} at {fm(ok[-1]['budget'])}.")


# ---------------------------------------------------------------- prevalence vs damage


def _place_labels(ax, fig: Figure, points: list[tuple[float, float, float]], labels: list[str],
                  colours: list[str], fontsize: float = 7.5) -> None:
    """Label scattered points without overlaps: greedy, trying positions around each marker.

    ``points`` are (x, y, marker radius in points). Text extents are estimated from the
    character count, which is close enough for a sans-serif font at this size.
    """
    fig.draw_without_rendering()  # fixes the layout, so data -> display coordinates are final
    scale = fig.dpi / 72.0
    char_w, line_h = 0.58 * fontsize * scale, 1.25 * fontsize * scale
    xy = [ax.transData.transform((x, y)) for x, y, _r in points]
    taken = [(px - r * scale, py - r * scale, px + r * scale, py + r * scale)
             for (px, py), (_x, _y, r) in zip(xy, points, strict=True)]
    order = sorted(range(len(points)), key=lambda i: -points[i][1])
    for i in order:
        (px, py), r = xy[i], points[i][2] * scale + 3 * scale
        w, h = char_w * len(labels[i]), line_h
        candidates = [(r, -h / 3), (r, r * 0.5), (r, -h - r * 0.3), (-r - w, -h / 3), (-r - w, r * 0.5),
                      (-r - w, -h - r * 0.3), (-w / 2, r), (-w / 2, -r - h), (r, h + r), (r, -2 * h - r)]
        best = candidates[0]
        for dx, dy in candidates:
            box = (px + dx, py + dy, px + dx + w, py + dy + h)
            if not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken):
                best = (dx, dy)
                break
        dx, dy = best
        taken.append((px + dx, py + dy, px + dx + w, py + dy + h))
        ax.annotate(labels[i], (points[i][0], points[i][1]), xytext=(dx / scale, dy / scale),
                    textcoords="offset points", fontsize=fontsize, color=colours[i], ha="left", va="bottom")


def prevalence_figure(d: dict) -> Figure:
    """Each pain's volume against its revenue at risk (P10–P90 bars); flags coloured and named."""
    cur = d["currency"]
    pains = d.get("pain_points") or []
    with _style():
        fig = Figure(figsize=(7.5, 4.6), layout="constrained")
        ax = fig.add_subplot()
        points, labels, colours = [], [], []
        for p in pains:
            colour = LOSS if p["silent_killer"] else ACCENT if p["prevalence_trap"] else PORTFOLIO
            r = p["revenue_at_risk"]
            size = 4 + 30 * p["severity"]["mean"]
            yerr = [[r["mean"] - r["p10"]], [r["p90"] - r["mean"]]]
            ax.errorbar(p["volume_measured"], r["mean"], yerr=yerr, fmt="o", color=colour, ms=size,
                        alpha=0.85, capsize=3, lw=1)
            flags = [f for f, on in (("silent killer", p["silent_killer"]),
                                     ("prevalence trap", p["prevalence_trap"])) if on]
            points.append((p["volume_measured"], r["mean"], size / 2))
            labels.append(_short(p["id"], 28) + (f" — {', '.join(flags)}" if flags else ""))
            colours.append(colour)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        _money_axis(ax.yaxis, cur)
        xmax = max((p[0] for p in points), default=1.0)
        ymax = max((p["revenue_at_risk"]["p90"] for p in pains), default=1.0)
        ax.set_xlim(0, xmax * 1.45 or 1.0)
        ax.set_ylim(0, ymax * 1.1 or 1.0)
        ax.set_xlabel("volume: share of customers exposed")
        ax.set_ylabel(f"revenue at risk ({cur}, P10–P90)")
        ax.set_title("Prevalence vs damage: marker size is severity")
        ax.legend(handles=[Line2D([], [], marker="o", ls="", color=LOSS, label="silent killer"),
                           Line2D([], [], marker="o", ls="", color=ACCENT, label="prevalence trap"),
                           Line2D([], [], marker="o", ls="", color=PORTFOLIO, label="other")],
                  frameon=False, loc="upper right")
        _place_labels(ax, fig, points, labels, colours)
    return fig


def _prevalence_alt(d: dict) -> str:
    pains = d.get("pain_points") or []
    most_common = max(pains, key=lambda p: p["volume_measured"])["id"]
    costliest = max(pains, key=lambda p: p["revenue_at_risk"]["mean"])["id"]
    silent = ", ".join(p["id"] for p in pains if p["silent_killer"]) or "none"
    trap = ", ".join(p["id"] for p in pains if p["prevalence_trap"]) or "none"
    return (f"Scatter of {len(pains)} pain points, volume against revenue at risk: the most common is "
            f"{most_common}, the costliest {costliest}; silent killers: {silent}; prevalence traps: {trap}.")


# ---------------------------------------------------------------- monthly forecast fan


def _month_labels(d: dict) -> list[str]:
    import datetime as dt

    H = d["horizon_months"]
    if not d.get("start"):
        return [str(m + 1) for m in range(H)]
    s = dt.date.fromisoformat(d["start"])
    return [f"{s.year + (s.month - 1 + m) // 12}-{(s.month - 1 + m) % 12 + 1:02d}" for m in range(H)]


def month_labels(horizon: int, start: str | None) -> list[str]:
    """The horizon's months as the report's axes label them: YYYY-MM from ``start``, else 1..H."""
    return _month_labels({"horizon_months": horizon, "start": start})


def forecast_figure(d: dict) -> Figure:
    """Customers lost per month with the portfolio (P10–P90 fan, P50 line) against the baseline."""
    cl = d["monthly_forecast"]["customers_lost"]
    H = len(cl)
    x = np.arange(1, H + 1)
    p10, p50, p90 = (np.array([c[q] for c in cl]) for q in ("p10", "p50", "p90"))
    b = d["baseline"]["customers_lost"]  # no initiative: the same loss every month, 1/H of the horizon's
    with _style():
        fig = Figure(figsize=(7.5, 3.8), layout="constrained")
        ax = fig.add_subplot()
        ax.fill_between(x, b["p10"] / H, b["p90"] / H, step="mid", color=BASELINE, alpha=0.15)
        ax.plot(x, np.full(H, b["p50"] / H), color=BASELINE, ls="--", drawstyle="steps-mid",
                label="baseline P50 (band P10–P90)")
        ax.fill_between(x, p10, p90, step="mid", color=PORTFOLIO, alpha=0.25, label="portfolio P10–P90")
        ax.plot(x, p50, color=PORTFOLIO, lw=2, drawstyle="steps-mid", label="portfolio P50")
        live: dict[int, list[str]] = {}
        for a in d.get("actions", []):
            m = int(round(a["golive_month"]["p50"])) - 1  # the label's index on the axis
            if m < H:
                live.setdefault(m, []).append(_short(a["id"], 28))
        top = max(float(p90.max()), b["p90"] / H)
        for m, ids in sorted(live.items()):
            ax.axvline(m + 0.5, color=ACCENT, lw=0.8, ls=":")
            shown = ", ".join(ids[:3]) + (f" +{len(ids) - 3} more" if len(ids) > 3 else "")  # fits the axis
            ax.text(m + 0.55, 0.03, shown, rotation=90, fontsize=7, color=ACCENT, va="bottom",
                    ha="left", transform=ax.get_xaxis_transform())
        labels = _month_labels(d)
        step = max(1, H // 12)
        dated = bool(d.get("start"))
        ax.set_xticks(x[::step], labels[::step], rotation=30 if dated else 0,
                      ha="right" if dated else "center")
        ax.set_xlim(0.5, H + 0.5)
        ax.set_ylim(bottom=0, top=top * 1.15)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_ylabel("customers lost in the month")
        ax.set_title("Monthly forecast: customers lost (dotted: P50 go-live)")
        ax.legend(frameon=False, loc="lower right", fontsize=8)
    return fig


def _forecast_alt(d: dict) -> str:
    cl = d["monthly_forecast"]["customers_lost"]
    H = len(cl)
    b = d["baseline"]["customers_lost"]["p50"] / H
    return (f"Fan chart of customers lost per month with the portfolio: P50 {cl[0]['p50']:,.0f} in month 1 "
            f"and "
            f"{cl[-1]['p50']:,.0f} in month {H} (P10–P90 {cl[-1]['p10']:,.0f} – {cl[-1]['p90']:,.0f}), "
            f"against {b:,.0f} a month without it.")


# ---------------------------------------------------------------- all of them


def plan_plots(d: dict, frontier: dict | None = None, trials: Mapping[str, np.ndarray] | None = None,
               fmt: str = "svg") -> dict[str, Plot]:
    """Every plot the plan supports, keyed as the report's sections place them; absent data, no plot."""
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    todo: list[tuple[str, str, Callable[[], Figure], Callable[[], str]]] = [
        ("distribution", "Value distribution: baseline vs portfolio",
         lambda: distribution_figure(d, trials), lambda: _distribution_alt(d, trials)),
    ]
    if d.get("contribution_details"):
        todo.append(("waterfall", "Contribution waterfall", lambda: waterfall_figure(d),
                     lambda: _waterfall_alt(d)))
    if d.get("monthly_forecast", {}).get("customers_lost"):
        todo.append(("forecast", "Monthly forecast", lambda: forecast_figure(d), lambda: _forecast_alt(d)))
    if d.get("pain_points"):
        todo.append(("prevalence", "Prevalence vs damage", lambda: prevalence_figure(d),
                     lambda: _prevalence_alt(d)))
    if d.get("sensitivity"):
        todo.append(("tornado", "Sensitivity tornado", lambda: tornado_figure(d), lambda: _tornado_alt(d)))
    if frontier and frontier.get("frontier"):
        todo.append(("frontier", "Budget frontier", lambda: frontier_figure(frontier, d),
                     lambda: _frontier_alt(frontier)))
    return {key: Plot(key, title, alt(), mime, render(build(), fmt)) for key, title, build, alt in todo}
