"""The report's sections for a plan that explains itself (plan/explain.py, plan/binding.py): what each
initiative fixes, the risk left, the return, what binds, quick wins and the voices.

Built from ``Plan.to_dict()`` like every other section (report/markdown.py), so Markdown, HTML and
the terminal show the numbers plan.json holds; nothing is recomputed.
"""

from __future__ import annotations

import datetime as _dt

from cxopt.plan.schedule import month_name
from cxopt.report.markdown import Bullets, Paragraph, Section, Table, band
from cxopt.report.terminal import money, pct

__all__ = ["explain_sections", "drivers_section", "risk_left_section", "return_section", "binding_section",
           "voices_section", "payback_text"]


def payback_text(p: dict, start: str | None, horizon: int) -> str:
    """``"month 10 (P10–P90 month 8 – after the horizon)"``: payback month labels, H + 1 = after the horizon."""
    def month(m: float) -> str:
        label = int(round(m))
        if label > horizon:
            return "after the horizon"
        return month_name(label, _dt.date.fromisoformat(start)) if start else f"month {label}"

    text = month(p["p50"])
    if round(p["p10"]) != round(p["p90"]):
        text += f" (P10–P90 {month(p['p10'])} – {month(p['p90'])})"
    return text


def drivers_section(d: dict) -> Section | None:
    actions = d.get("actions") or []
    if not actions or "drivers" not in actions[0]:
        return None
    rows = []
    for a in actions:
        for x in a["drivers"]:
            if x["kind"] == "pain_point":
                what = f"removes {pct(x['share_removed']['mean'])} of its market at risk"
                rng = band(x["share_removed"], pct)
            else:
                what = f"reaches {pct(x['share_delivered']['mean'])} of its eligible customers"
                rng = band(x["share_delivered"], pct)
            rows.append([a["name"], x["name"], "pain point" if x["kind"] == "pain_point" else "delighter", what, rng])
    blocks: list = [Table(["Initiative", "Acts on", "Kind", "Share (Shapley, horizon average)", "P10–P90"], rows,
                          align="lllll")]
    blocks.append(Paragraph("A pain's market at risk is the customers it would cost over the horizon; an "
                            "initiative's share of it is its Shapley value over the chosen initiatives, so the "
                            "shares on one pain add up to what the portfolio removes. Before go-live an "
                            "initiative removes nothing, so the shares are averaged over the horizon's months."))
    wins = d.get("quick_wins") or []
    if wins:
        names = {a["id"]: a["name"] for a in actions}
        blocks.append(Paragraph(", ".join(names.get(w, w) for w in wins) + " — live within the first quarter, "
                                "at least 80% likely to be delivered and cheaper than the median candidate: "
                                "the wins to celebrate first.", lead="Quick wins."))
    return Section("drivers", "What each initiative fixes", blocks)


def risk_left_section(d: dict) -> Section | None:
    rl = d.get("risk_left")
    if not rl:
        return None
    m = rl["market_at_risk"]
    rows = [[label, f"{pct(m[key]['customers']['mean'])} ({band(m[key]['customers'], pct)})",
             f"{pct(m[key]['revenue']['mean'])} ({band(m[key]['revenue'], pct)})"]
            for label, key in (("Today (on these trials)", "baseline"), ("After the portfolio, horizon average",
                                                                         "after"),
                               ("At full effect (every initiative live all horizon)", "full_effect"))]
    total = Table(["Market at risk", "Share of customers (P10–P90)", "Share of revenue (P10–P90)"], rows,
                  align="lrr")
    prow = [[p["name"], pct(p["baseline"]["mean"], 2), pct(p["removed"]["mean"], 2), pct(p["left"]["mean"], 2),
             pct(p["left_full_effect"]["mean"], 2)] for p in rl["pain_points"]]
    sum_b = sum(p["baseline"]["mean"] for p in rl["pain_points"])
    sum_l = sum(p["left"]["mean"] for p in rl["pain_points"])
    prow.append(["Sum over pains", pct(sum_b, 2), pct(sum_b - sum_l, 2), pct(sum_l, 2), ""])
    pains = Table(["Pain point", "Today (share of customers)", "Removed", "Left", "Left at full effect"], prow,
                  emphasis=frozenset({len(prow) - 1}))
    ov = rl["overlap"]
    note = (f"The per-pain losses add up to more than the market at risk — {pct(ov['baseline']['mean'], 2)} of "
            f"customers more today, {pct(ov['after']['mean'], 2)} after the portfolio — because a customer "
            f"exposed to several pains can be lost only once (overlap).")
    blocks: list = [total, pains, Paragraph(note, lead="Overlap.")]
    dl = d.get("delighters") or []
    if dl:
        blocks.append(Table(["Delighter", "Reach", "Lift (P10–P90)", "Delivered to (share of eligible)",
                             "Customers delighted"],
                            [[x["name"], pct(x["reach"]), f"{pct(x['lift']['mean'])} ({band(x['lift'], pct)})",
                              f"{pct(x['share_delivered']['mean'])} ({band(x['share_delivered'], pct)})",
                              f"{x['customers_delighted']['mean']:,.0f}"] for x in dl],
                            caption="Delighters: what the portfolio delivers"))
    return Section("risk_left", "Risk left after the portfolio", blocks)


def return_section(d: dict) -> Section | None:
    r = d.get("returns")
    if not r:
        return None
    cur = d["currency"]
    fm = lambda x: money(x, cur)  # noqa: E731
    start, H = d.get("start"), d["horizon_months"]
    ratio = lambda x: f"{x:.2f}"  # noqa: E731
    rows = []
    names = {a["id"]: a["name"] for a in d.get("actions", [])}
    for kid, x in list(r["initiatives"].items()) + [("portfolio", r["portfolio"])]:
        roc = x["return_on_cost"]
        rows.append([names.get(kid, "Portfolio" if kid == "portfolio" else kid), fm(x["cost"]),
                     f"{fm(x['gain']['mean'])} ({band(x['gain'], fm)})",
                     "—" if roc is None else f"{ratio(roc['mean'])} ({band(roc, ratio)})",
                     payback_text(x["payback_month"], start, H), pct(x["probability_payback_within_horizon"], 0)])
    basis = (f"margin ({pct(r['margin'], 0)} of retained revenue)" if r["basis"] == "margin"
             else "retained revenue (no [scenario] margin given: revenue is not profit)")
    note = (f"Gain in {basis}, plus operating savings; per initiative its Shapley share, the portfolio's "
            f"the whole. Payback: the first month whose cumulative gain, from the monthly forecast, reaches "
            f"the cumulative cost (an initiative's from its own path).")
    table = Table(["", f"Cost ({cur})", "Gain (P10–P90)", "Gain per unit of cost (P10–P90)", "Payback month",
                   "Pays back within the horizon"], rows, align="lrrrll", emphasis=frozenset({len(rows) - 1}))
    return Section("returns", "Return on cost and payback", [table, Paragraph(note)])


def binding_section(d: dict) -> Section | None:
    limits = d.get("binding")
    if not limits and not d.get("unspent_budget"):
        return None
    fm = lambda x: money(x, d["currency"])  # noqa: E731
    rows = []
    for x in limits or []:
        slack = fm(x["slack"]) if x["limit"].startswith("budget:") else f"{x['slack']:g}"
        rows.append([x["limit"].replace("->", " → "), slack, "binds" if x["binds"] else "—", fm(x["gain_if_relaxed"]),
                     ", ".join(x["relaxed_selection"])])
    blocks: list = [Table(["Limit", "Slack", "Binds", "Gain if relaxed one step", "Portfolio then"], rows,
                          align="lrlrl"),
                    Paragraph("One step: +10% of that budget, one more initiative, one more initiative for that "
                              "owner, the exclusion or prerequisite dropped, the must or forbid lifted — each "
                              "re-solved on the same trials.")]
    for u in d.get("unspent_budget") or []:
        blocks.append(Paragraph(f"{fm(u['amount'])} of budget {u['period']} is unspent: "
                                f"{u['reason'].replace('->', ' → ')}.",
                                lead="Unspent."))
    return Section("binding", "What binds", blocks)


def voices_section(d: dict) -> Section | None:
    v = d.get("voices") or []
    if not any(x["complaints"] is not None for x in v):
        return None
    fm = lambda x: money(x, d["currency"])  # noqa: E731
    heard = sorted((x for x in v if x["rank_complaints"] is not None), key=lambda x: x["rank_complaints"])
    rows = [[str(i + 1), f"{c['name']} ({c['complaints']:,.0f} complaints)",
             f"{r['name']} ({fm(r['revenue_at_risk'])})"]
            for i, (c, r) in enumerate(zip(heard, sorted(v, key=lambda x: x["rank_revenue"])))]
    notes = [f"Squeaky wheel: {x['name']} — among the most complained about, among the least damaging."
             for x in v if x["squeaky_wheel"]]
    notes += [f"Silent killer: {x['name']} — severe, yet few complain." for x in v if x["silent_killer"]]
    blocks: list = [Table(["Rank", "By complaints (volume x complaint rate)", "By damage (revenue at risk)"], rows,
                          align="rll")]
    if notes:
        blocks.append(Bullets(notes))
    return Section("voices", "The voices: complaints vs damage", blocks)


def explain_sections(d: dict) -> list[Section]:
    """The sections, in order; none for a plan built without explanations."""
    out = [drivers_section(d), risk_left_section(d), return_section(d), binding_section(d), voices_section(d)]
    return [s for s in out if s is not None]
