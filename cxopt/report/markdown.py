"""The plan as a document: its sections built once from ``Plan.to_dict()``, rendered as Markdown.

The sections (goal, baseline vs portfolio, contributions, action plan with checkpoints and
the monthly forecast, prevalence vs damage of the pains, sensitivity, budget frontier,
solver) are plain data — paragraphs, bullet lists and tables of already formatted text —
so that the Markdown here and the HTML page (``report/html.py``) show the same numbers.
Text is plain (never markup) until a renderer escapes it: scenario names and ids come from
users. Nothing is recomputed from the model; the only arithmetic is adding up the parts of
a table to show they make the whole.
"""

from __future__ import annotations

import re

import datetime as _dt
from dataclasses import dataclass, field

from cxopt.report.terminal import money, pct

__all__ = ["Paragraph", "Bullets", "Table", "PlotSlot", "Section", "plan_sections", "frontier_section",
           "plan_markdown"]


@dataclass(frozen=True)
class Paragraph:
    text: str
    lead: str = ""  # a bold lead-in ("Goal.")


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    align: str = ""  # one letter a column, "l" or "r"; default: first left, the rest right
    emphasis: frozenset[int] = frozenset()  # indices of rows shown in bold (totals)
    caption: str = ""

    def alignment(self) -> str:
        return self.align or "l" + "r" * (len(self.columns) - 1)


@dataclass(frozen=True)
class PlotSlot:
    """Where the HTML page puts a plot (``report/plots.py`` key); Markdown skips it."""

    key: str


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: list = field(default_factory=list)


# ---------------------------------------------------------------- formatting


def num(x: float) -> str:
    """A process metric's value: whole numbers plain, small ones to 3 significant digits."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _unit(x: float, unit: str | None) -> str:
    if not unit:
        return num(x)
    return f"{num(x)}{unit}" if unit == "%" else f"{num(x)} {unit}"


def band(s: dict, fmt) -> str:
    return f"{fmt(s['p10'])} – {fmt(s['p90'])}"


def _metric_label(name: str) -> str:
    return name.upper() if len(name) <= 4 else name.replace("_", " ")


def _level_label(name: str, m: dict) -> str:
    """A CX metric's row: its level (today's declared), or the change from today when none is declared."""
    label = m.get("label") or _metric_label(name)
    unit = m.get("unit") or "points"
    if m.get("today") is None and "today" in m:
        return f"{label}, change from today ({unit})"
    return f"{label} level ({unit}; today {m['today']:g})" if m.get("today") is not None else label


def _goal_format(g: dict):
    """How the goal's numbers read: shares as percentages, money as money, scores with two decimals."""
    if g.get("metric") in ("churn", "churn rate"):
        return pct
    if g.get("metric") == "retained_revenue":
        return lambda x: f"{x:,.0f}"
    return lambda x: f"{x:.2f}"


def signed(x: float, fmt) -> str:
    return ("+" if x > 0 else "−" if x < 0 else "") + fmt(abs(x))


def _month(start: str | None, label: float, horizon: int, *, ordinal: bool = True) -> str:
    """Month label ``label`` (1 = the horizon's first month) as a calendar month (and its ordinal)."""
    m = int(round(label))
    if m > horizon:
        return "after the horizon"
    if not start:
        return f"month {m}"
    d = _dt.date.fromisoformat(start)
    y, mo = divmod(d.month - 1 + m - 1, 12)
    return f"{d.year + y}-{mo + 1:02d}" + (f" (month {m})" if ordinal else "")


# ---------------------------------------------------------------- sections


def _header(d: dict) -> Section:
    cur = d["currency"]
    fm = lambda x: money(x, cur)  # noqa: E731
    g = d["goal"]
    gf = _goal_format(g)
    budget = d.get("budget")
    btxt = "no budget limit" if not budget else "budget " + "; ".join(
        (fm(v) if k == "total" else f"{k} {fm(v)}") for k, v in budget.items())
    facts = (f"{d['customers']:,} customers, revenue {fm(d['revenue'])} a year; "
             f"{d['trials']:,} trials ({d['mode']}), seed {d['seed']}; "
             f"horizon {d['horizon_months']} months from {d['start']}; "
             f"{btxt}, portfolio cost {fm(d['total_cost'])}.")
    gain = g["retained_revenue_gain"]
    glance = Table(
        columns=["Metric", "Baseline (P50)", "Target", "Band (P10–P90)", "By", "Probability met",
                 "Retained revenue gain"],
        rows=[[g["metric"], gf(g["baseline"]), gf(g["target"]),
               f"{gf(g['band'][0])} – {gf(g['band'][1])}", g["date"], pct(g["probability_met"], 0),
               f"{fm(gain['mean'])} ({band(gain, fm)})"]],
        align="lrrrlrr")
    owners = [f"{kid}: {owner}" for kid, owner in g.get("owners", {}).items()]
    blocks = [Paragraph(g["statement"], lead="Goal."), glance]
    if g.get("contributions"):  # the goal built bottom-up: Shapley parts that add up to the increment
        parts = " + ".join(f"{kid} {signed(v, gf)}" for kid, v in g["contributions"].items())
        blocks.append(Paragraph(f"{parts} = {signed(g['expected_increment'], gf)} expected in {g['metric']} "
                                f"(Shapley on the trials, so the parts add up).", lead="Contributions to the goal."))
    for t in d.get("target", []):
        blocks.append(Paragraph(f"{t['as_given']}: met in {pct(t['probability'], 1)} of trials against "
                                f"{pct(t['confidence'], 0)} required ({'met' if t['met'] else 'not met'}).",
                                lead="Target."))
    for r in d.get("requirements", []):
        blocks.append(Paragraph(f"{r['as_given']}: {r['actual']:.4g} ({'met' if r['met'] else 'not met'}).",
                                lead="Requirement."))
    if owners:
        blocks.append(Paragraph("; ".join(owners) + ".", lead="Owners."))
    blocks.append(Paragraph(facts))
    return Section("goal", "The goal", blocks)


def _outcome(d: dict) -> Section:
    cur = d["currency"]
    b, p = d["baseline"], d["portfolio"]
    fm = lambda x: money(x, cur)  # noqa: E731
    count = lambda x: f"{x:,.0f}"  # noqa: E731
    pts = lambda x: f"{100 * x:.2f} pts"  # noqa: E731
    two = lambda x: f"{x:.2f}"  # noqa: E731
    rows = []
    for label, key, fmt, dfmt in [("Retained revenue", "retained_revenue", fm, fm),
                                  ("Revenue lost", "revenue_lost", fm, fm),
                                  ("Customers lost", "customers_lost", count, count),
                                  ("Churn rate", "churn_rate", pct, pts),
                                  ("Gross revenue retention", "gross_revenue_retention", pct, pts)]:
        bs, ps = b[key], p[key]
        rows.append([label, fmt(bs["mean"]), band(bs, fmt), fmt(ps["mean"]), band(ps, fmt),
                     signed(ps["mean"] - bs["mean"], dfmt)])
    for name, m in d.get("metrics", {}).items():
        bs, ps = m["baseline"], m["portfolio"]
        rows.append([_level_label(name, m), two(bs["mean"]), band(bs, two), two(ps["mean"]), band(ps, two),
                     signed(ps["mean"] - bs["mean"], two)])
    table = Table(["", "Baseline mean", "Baseline P10–P90", "Portfolio mean", "Portfolio P10–P90", "Change"],
                  rows)
    gain = p["gain"]
    chance = pct(p.get("probability_gain_positive", float("nan")), 0)
    text = (f"Gain in retained revenue {fm(gain['mean'])} (P10–P90 {band(gain, fm)}); probability the "
            f"portfolio keeps more revenue than doing nothing: {chance}.")
    mar = d.get("market_at_risk") or {}
    if mar:
        text += (f" Market at risk today (lost because of pain points): {pct(mar['customers'])} of "
                 f"customers, {pct(mar['revenue'])} of revenue.")
    return Section("outcome", "Baseline vs portfolio", [table, Paragraph(text), PlotSlot("distribution")])


def _contributions(d: dict) -> Section:
    cur = d["currency"]
    full = lambda x: f"{x:,.0f}"  # noqa: E731 - whole units, so the column visibly adds up
    two = lambda x: f"{x:.2f}"  # noqa: E731
    det = d.get("contribution_details", {})
    title = "What each initiative contributes"
    if not det:
        return Section("contributions", title,
                       [Paragraph("No initiative was selected: the portfolio is the baseline.")])
    names = list(d.get("metrics", {}))
    cols = ["Initiative", "Owner", f"Cost ({cur})", f"Retained revenue, Shapley ({cur})", "P10–P90",
            f"Standalone ({cur})", "Churn pts, Shapley", "Churn pts, standalone"]
    cols += [f"{_metric_label(n)} pts, Shapley" for n in names]
    rows = []
    keys = ("cost", "revenue", "standalone_revenue", "churn_points", "standalone_churn_points")
    tot = dict.fromkeys(keys, 0.0)
    tot_m = dict.fromkeys(names, 0.0)
    for kid, c in det.items():
        rows.append([f"{c['name']} ({kid})" if c["name"] != kid else kid, c["owner"], full(c["cost"]),
                     full(c["revenue"]["mean"]), band(c["revenue"], full),
                     full(c["standalone_revenue"]["mean"]),
                     two(c["churn_points"]["mean"]), two(c["standalone_churn_points"]["mean"])]
                    + [two(c["metrics"][n]["mean"]) for n in names])
        for k in keys:
            tot[k] += c[k] if k == "cost" else c[k]["mean"]
        for n in names:
            tot_m[n] += c["metrics"][n]["mean"]
    rows.append(["Sum of the contributions", "", full(tot["cost"]), full(tot["revenue"]), "",
                 full(tot["standalone_revenue"]), two(tot["churn_points"]),
                 two(tot["standalone_churn_points"])]
                + [two(tot_m[n]) for n in names])
    b, p = d["baseline"], d["portfolio"]
    whole_churn = 100 * (b["churn_rate"]["mean"] - p["churn_rate"]["mean"])
    whole_m = [d["metrics"][n]["portfolio"]["mean"] - d["metrics"][n]["baseline"]["mean"] for n in names]
    rows.append(["Portfolio, simulated together", "", full(d["total_cost"]), full(p["gain"]["mean"]),
                 band(p["gain"], full), "", two(whole_churn), ""] + [two(x) for x in whole_m])
    note = ("Shapley value: an initiative's marginal gain averaged over every order in which the portfolio "
            "could be assembled, per trial, so the contributions add up to the portfolio's gain although "
            "effects overlap. ")
    alone = tot["standalone_revenue"]
    overlap = alone - p["gain"]["mean"]
    if abs(overlap) > 1e-9 * max(abs(alone), 1.0):
        why = ("initiatives overlap on the same customers" if overlap > 0
               else "initiatives reinforce each other")
        note += (f"The standalone gains add up to {money(alone, cur)}, {money(abs(overlap), cur)} "
                 f"{'more' if overlap > 0 else 'less'} than the whole: {why}.")
    table = Table(cols, rows, align="ll" + "r" * (len(cols) - 2),
                  emphasis=frozenset({len(rows) - 2, len(rows) - 1}))
    return Section("contributions", title, [table, Paragraph(note), PlotSlot("waterfall")])


def _cost(cost: dict, fm) -> str:
    if list(cost) == ["total"]:
        return fm(cost["total"])
    return "; ".join(f"{k} {fm(v)}" for k, v in cost.items())


def _actions(d: dict) -> Section:
    cur = d["currency"]
    start, H = d.get("start"), d["horizon_months"]
    fm = lambda x: money(x, cur)  # noqa: E731
    rows, checks = [], []
    for a in d.get("actions", []):
        gl = a["golive_month"]
        month = lambda m: _month(start, m, H, ordinal=False)  # noqa: E731
        golive = month(gl["p50"])
        if round(gl["p10"]) != round(gl["p90"]):
            golive += f" (P10–P90 {month(gl['p10'])} – {month(gl['p90'])})"
        m = a.get("metric")
        unit = (m or {}).get("unit")
        mname = m["name"] if m else "—"
        mpath = f"{_unit(m['baseline'], unit)} → {_unit(m['target'], unit)}" if m else "—"
        rows.append([a["name"], a["owner"], month(a["start_month"]), golive,
                     pct(a["success_probability"], 0), _cost(a["cost"], fm), mname, mpath,
                     f"{fm(a['contribution']['mean'])} ({band(a['contribution'], fm)})", a["review"]])
        if a.get("checkpoints"):
            path = " · ".join(f"{month(c['month'])}: "
                              f"{_unit(c['expected_metric'], unit)}" for c in a["checkpoints"])
            checks.append([a["name"], a["review"], f"{mname}: {path}"])
    columns = ["Initiative", "Owner", "Start", "Go-live", "Delivered", "Cost", "Process metric",
               "Baseline → target", "Contribution (P10–P90)", "Review"]
    blocks: list = [Table(columns, rows, align="lllllrllrl") if rows
                    else Paragraph("No initiative was selected: nothing to deliver.")]
    if checks:
        blocks += [Paragraph("The process metric's planned value at the end of each month, from its baseline "
                             "when work starts to its target at the end of the go-live month; after go-live it "
                             "should hold at the target. cxopt track holds the actuals against these values.",
                             lead="Checkpoints."),
                   Table(["Initiative", "Review", "Expected process metric by month"], checks, align="lll")]
    mf = d.get("monthly_forecast", {})
    cl, rl = mf.get("customers_lost", []), mf.get("revenue_lost", [])
    if cl:
        golive_at: dict[int, list[str]] = {}
        for a in d.get("actions", []):
            golive_at.setdefault(int(round(a["golive_month"]["p50"])), []).append(a["id"])
        count = lambda x: f"{x:,.0f}"  # noqa: E731
        frows = [[_month(start, m, H), count(c["p50"]), band(c, count), fm(r["p50"]), band(r, fm),
                  ", ".join(golive_at.get(m, []))] for m, (c, r) in enumerate(zip(cl, rl, strict=True), start=1)]
        blocks += [Paragraph("Expected customers and revenue lost each month with the portfolio: the "
                             "forecast the monthly actuals are held against.", lead="Monthly forecast."),
                   Table(["Month", "Customers lost (P50)", "P10–P90", "Revenue lost (P50)", "P10–P90",
                          "Going live (P50)"], frows, align="lrrrrl"),
                   PlotSlot("forecast")]
    return Section("actions", "The action plan", blocks)


def _flags(p: dict) -> list[str]:
    return [f for f, on in (("prevalence trap", p["prevalence_trap"]), ("silent killer", p["silent_killer"]))
            if on]


def _pains(d: dict) -> Section | None:
    pains = d.get("pain_points") or []
    if not pains:
        return None
    cur = d["currency"]
    fm = lambda x: money(x, cur)  # noqa: E731
    by_v = sorted(pains, key=lambda p: p["rank_volume"])
    by_r = sorted(pains, key=lambda p: p["rank_revenue"])
    ranks = Table(["Rank", "By volume (share of customers exposed)", "By revenue at risk"],
                  [[str(i + 1), f"{v['name']} ({pct(v['volume_measured'])})",
                    f"{r['name']} ({fm(r['revenue_at_risk']['mean'])})"]
                   for i, (v, r) in enumerate(zip(by_v, by_r, strict=True))],
                  align="rll")
    rows = []
    for p in by_r:
        sev, risk = p["severity"], p["revenue_at_risk"]
        rows.append([p["name"], pct(p["volume_measured"]), f"{pct(sev['mean'])} ({band(sev, pct)})",
                     "—" if p.get("complaint_rate") is None else pct(p["complaint_rate"], 0),
                     f"{p['customers_lost']['mean']:,.0f}", fm(risk["mean"]), band(risk, fm),
                     f"{p['rank_volume']} / {p['rank_revenue']}", ", ".join(_flags(p))])
    detail = Table(["Pain point", "Volume", "Severity (P10–P90)", "Complaint rate", "Customers lost",
                    "Revenue at risk", "P10–P90", "Rank volume / revenue", "Flags"], rows, align="lrrrrrrrl")
    notes = []
    if any(p["prevalence_trap"] for p in pains):
        notes.append("Prevalence trap: a pain ranked higher by volume than by revenue at risk while a "
                     "rarer pain does more damage — fixing the most common problem first is not fixing "
                     "the costliest.")
    if any(p["silent_killer"] for p in pains):
        notes.append("Silent killer: a severe pain few customers complain about — the complaint log "
                     "hides it.")
    blocks: list = [ranks, detail]
    if notes:
        blocks.append(Bullets(notes))
    blocks.append(PlotSlot("prevalence"))
    return Section("pains", "Prevalence vs damage: the points of pain", blocks)


def _sensitivity(d: dict) -> Section | None:
    rows = d.get("sensitivity") or []
    if not rows:
        return None
    fm = lambda x: money(x, d["currency"])  # noqa: E731
    two = lambda x: f"{x:.2f}"  # noqa: E731
    table = Table(["Uncertain input", "Rank correlation", "Swing", "Portfolio value, input low",
                   "input high"],
                  [[r["input"], signed(r["spearman"], two), signed(r["swing"], fm), fm(r["low"]),
                    fm(r["high"])] for r in rows])
    text = ("Which uncertain inputs drive the spread of the portfolio's retained revenue, from the trials "
            "already run. Swing: the mean value in the trials where the input is in its top decile minus its "
            "bottom decile (for delivery: delivered minus not delivered).")
    return Section("sensitivity", "Sensitivity: what drives the uncertainty",
                   [Paragraph(text), table, PlotSlot("tornado")])


def frontier_section(frontier: dict | None, currency: str) -> Section | None:
    """The budget frontier (``report.summary.frontier_summary``) as a table, or None without one."""
    if not frontier or not frontier.get("frontier"):
        return None
    fm = lambda x: money(x, currency)  # noqa: E731
    rows = []
    for r in frontier["frontier"]:
        if not r.get("feasible"):
            rows.append([fm(r["budget"]), "—", "infeasible", "", ""])
            continue
        marginal = r.get("marginal_gain_per_unit")
        rows.append([fm(r["budget"]), fm(r["total_cost"]), fm(r["gain"]),
                     "" if marginal is None else f"{marginal:.2f}", ", ".join(r["selected"]),
                     *_step_return(r)])
    text = "The best portfolio at each budget, on the same trials: what the next unit of budget buys."
    if "hurdle" in frontier:
        basis = frontier.get("return_basis") or ("margin" if frontier.get("margin") is not None else "retained revenue")
        text += (f" Return of a step: its extra gain in {basis} per extra unit of cost; steps below the hurdle "
                 f"of {frontier['hurdle']:.2f} are marked — the next unit there returns less than it costs.")
    table = Table(["Budget", "Cost", "Gain", "Gain per extra unit", "Initiatives", "Step return", "Hurdle"],
                  [r + [""] * (7 - len(r)) for r in rows], align="rrrrlrl")
    return Section("frontier", "Budget frontier", [Paragraph(text), table, PlotSlot("frontier")])


def _step_return(r: dict) -> list[str]:
    """A frontier step's return per extra unit of cost and its hurdle mark."""
    if "marginal_cost" not in r:
        return ["", ""]
    ret = r.get("return_per_cost")
    return ["" if ret is None else f"{ret:.2f}", "below hurdle" if r.get("below_hurdle") else ""]


_SOLVER_NAMES = {"highs": "HiGHS", "cbc": "CBC", "exhaustive": "exhaustive search"}


def _solver(d: dict) -> Section:
    fm = lambda x: money(x, d["currency"])  # noqa: E731
    s = d.get("solver") or {}
    proven = "proven" if s.get("proven_optimal") else "not proven"
    solver = _SOLVER_NAMES.get(s.get("name", ""), s.get("name", "?"))
    objective = s.get("objective_text") or s.get("objective", "mean")  # plans before the value objective: the risk form
    text = (f"Chosen by {solver}: {s.get('status', '?')} ({proven}) in {s.get('seconds', 0.0):.2f} s; "
            f"objective: {objective}. Pair interactions are modelled and higher-order ones "
            f"are not, so the {s.get('candidates_evaluated', 0)} best distinct portfolios were re-evaluated "
            f"exactly by simulation; the chosen one's estimate differs from its exact value by "
            f"{fm(s.get('gap', 0.0))}.")
    if s.get("expected_value"):
        v, b = s["expected_value"], s.get("baseline_value") or {}
        text += (f" The portfolio's expected value is {fm(v['mean'])} (P10–P90 {fm(v['p10'])} – {fm(v['p90'])})"
                 + (f", against {fm(b['mean'])} with no initiative" if b else "") + ".")
    blocks: list = [Paragraph(text)]
    cands = d.get("candidates") or []
    if len(cands) > 1:
        rows = [[str(i + 1), ", ".join(c["selected"]), fm(c["estimate"]), fm(c["exact"])]
                for i, c in enumerate(cands[:5])]
        what = "value" if s.get("objective_name") == "value" else "retained revenue"
        blocks.append(Table(["#", "Portfolio", f"Estimated {what}", "Exact (re-simulated)"], rows,
                            align="rlrr", caption="The best alternatives considered"))
    return Section("solver", "How the portfolio was chosen", blocks)


def plan_sections(d: dict, frontier: dict | None = None) -> list[Section]:
    """The report's sections, in order, from ``Plan.to_dict()`` (and a frontier summary, if any)."""
    from cxopt.report.explain_sections import explain_sections  # they build on this module's blocks

    out = [_header(d), _outcome(d), _contributions(d), _actions(d), *explain_sections(d), _pains(d), _sensitivity(d),
           frontier_section(frontier, d["currency"]), _solver(d)]
    return [s for s in out if s is not None]


# ---------------------------------------------------------------- Markdown


# characters with a meaning in (GitHub) Markdown; "_" only at a word's edge (inside a word,
# as in callback_sla, it never starts emphasis)
# "(" and ")" are left as they are: with "[" and "]" escaped no link can form, and plans are
# full of parentheses.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<!\w)_|_(?!\w))")


def _md(text: str) -> str:
    """Plain text that stays text in Markdown, table cells included: every character Markdown
    gives a meaning (``[x](javascript:...)`` must not become a link, ``*x*`` not emphasis) is
    backslash-escaped, raw HTML is entity-escaped, and line breaks become spaces."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")


def _md_table(t: Table) -> list[str]:
    align = t.alignment()
    lines = []
    if t.caption:
        lines += [f"*{_md(t.caption)}*", ""]
    lines.append("| " + " | ".join(_md(c) for c in t.columns) + " |")
    lines.append("|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|")
    for i, row in enumerate(t.rows):
        cells = [_md(c) for c in row]
        if i in t.emphasis:
            cells = [f"**{c}**" if c else c for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def plan_markdown(d: dict, frontier: dict | None = None) -> str:
    """The plan as Markdown: the goal, the tables, the action plan, the pains, sensitivity, solver."""
    lines = [f"# CX plan — {_md(d['scenario'])}", ""]
    for s in plan_sections(d, frontier):
        if s.key != "goal":
            lines += [f"## {_md(s.title)}", ""]
        for b in s.blocks:
            if isinstance(b, Paragraph):
                text = (f"**{_md(b.lead)}** " if b.lead else "") + _md(b.text)
                lines += [("> " + text) if b.lead == "Goal." else text, ""]
            elif isinstance(b, Bullets):
                lines += [f"* {_md(x)}" for x in b.items] + [""]
            elif isinstance(b, Table):
                lines += _md_table(b) + [""]
    return "\n".join(lines).rstrip() + "\n"
