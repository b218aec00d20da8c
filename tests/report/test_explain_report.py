"""The plan's explanations in plan.json, plan.md, report.html and the terminal: one source, same numbers.

Every figure the new sections show is formatted from ``Plan.to_dict()`` with the report's own
formatters here, and looked for in the Markdown, the HTML page and the terminal output.
"""

from __future__ import annotations

import html
import io
import json

import pytest
from rich.console import Console

from cxopt.plan.build import build_plan
from cxopt.portfolio.search import optimize
from cxopt.report.markdown import plan_sections
from cxopt.report.summary import frontier_summary
from cxopt.report.terminal import money, pct, print_frontier, print_plan
from tests.plan.test_explain import scenario, simulate


@pytest.fixture(scope="module")
def plan():
    sim = simulate(scenario(margin=0.5, sponsor="Chief Customer Officer"))
    return build_plan(optimize(sim, solver="exhaustive"))


@pytest.fixture(scope="module")
def outputs(plan):
    d = json.loads(plan.to_json())
    out = io.StringIO()
    print_plan(d, Console(file=out, width=400, color_system=None))
    return d, plan.to_markdown(), html.unescape(plan.to_html()), out.getvalue()


def figures(d: dict) -> list[str]:
    """The numbers the explanation sections show, formatted from plan.json."""
    cur = d["currency"]
    out = []
    for a in d["actions"]:
        out += [pct(x["share_removed"]["mean"]) for x in a["drivers"] if x["kind"] == "pain_point"]
    out.append(pct(d["risk_left"]["market_at_risk"]["after"]["customers"]["mean"]))
    out.append(pct(d["risk_left"]["market_at_risk"]["full_effect"]["customers"]["mean"]))
    out += [pct(p["left"]["mean"], 2) for p in d["risk_left"]["pain_points"]]
    out += [money(x["gain"]["mean"], cur) for x in d["returns"]["initiatives"].values()]
    out.append(money(d["returns"]["portfolio"]["gain"]["mean"], cur))
    out.append(f"{d['returns']['portfolio']['return_on_cost']['mean']:.2f}")
    out += [money(x["gain_if_relaxed"], cur) for x in d["binding"]]
    return out


def test_json_markdown_html_and_terminal_carry_the_same_numbers(outputs):
    d, md, page, term = outputs
    for text in figures(d):
        assert text in md, text
        assert text in page, text
        assert text in term, text


def test_every_limit_has_a_row_in_each_output(outputs):
    d, md, page, term = outputs
    names = [x["limit"] for x in d["binding"]]
    assert "budget:total" in names and "owner:Head of Care" in names and "max_initiatives" in names
    for name in names:
        assert name in md and name in page and name in term


def test_the_sections_are_in_the_report_once(outputs):
    d, md, _, _ = outputs
    keys = [s.key for s in plan_sections(d)]
    for key in ("drivers", "risk_left", "returns", "binding", "voices"):
        assert keys.count(key) == 1, key
    assert "Sponsor: Chief Customer Officer." in md


def test_return_basis_is_margin_when_given(outputs):
    d, md, _, _ = outputs
    assert d["returns"]["basis"] == "margin" and d["returns"]["margin"] == 0.5
    assert "margin (50% of retained revenue)" in md


def test_the_frontier_marks_steps_below_the_hurdle(plan):
    sim = plan.simulation
    from cxopt.portfolio.frontier import frontier

    budgets = [1_000.0, 4_000.0]
    data = frontier_summary(sim, budgets, frontier(sim, budgets, solver="exhaustive"), hurdle=1e9)
    step = data["frontier"][1]
    margin = sim.scenario.scenario.margin
    first = data["frontier"][0]
    assert step["marginal_cost"] == pytest.approx(step["total_cost"] - first["total_cost"])
    assert step["return_per_cost"] == pytest.approx(margin * (step["gain"] - first["gain"]) / step["marginal_cost"])
    assert step["below_hurdle"]
    out = io.StringIO()
    print_frontier(data, Console(file=out, width=300, color_system=None))
    assert "below hurdle" in out.getvalue()
