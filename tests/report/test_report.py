"""The plan's reports (DESIGN.md section 3, issue 5): Markdown, the HTML page, ``cxopt report``.

* The Markdown states the goal and gives every chosen initiative a contribution row; the
  sum row adds up to the portfolio's gain (the whole, simulated together).
* The HTML page is self-contained — nothing is fetched: every image is a ``data:`` URI and
  no ``src``/``href`` leaves the page — and user text (a scenario name with ``<script>``)
  is escaped.
* The report renders: headless Chromium opens the page and, in its DOM, every plot image
  decoded (``naturalWidth > 0``, counted by the page's own inline script into
  ``<body data-loaded>``) and the goal statement is on the page.
* ``cxopt report`` writes the page and does not overwrite it without ``--force`` (exit 2).
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cxopt
from cxopt.cli import app
from cxopt.plan.build import build_plan
from cxopt.report.html import plan_html
from cxopt.report.markdown import plan_markdown
from cxopt.report.summary import frontier_summary
from tests.report.browser import loaded_plots, rendered_dom

RUN = ["--customers", "4000", "--trials", "150", "--seed", "3", "--quiet"]
PLOTS_WITH_EVERYTHING = 6  # distribution, waterfall, forecast, prevalence, tornado, frontier


@pytest.fixture(scope="module")
def article(article_path):
    """A plan of the article's scenario, its budget frontier and its per-trial values."""
    sc = cxopt.load_scenario(article_path)
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=4000), trials=150, seed=3)
    result = cxopt.optimize(sim)
    d = build_plan(result).to_dict()
    budgets = np.array([0.5, 1.0, 2.0]) * d["budget"]["total"]
    frontier = frontier_summary(sim, budgets, cxopt.frontier(sim, budgets, top=3))
    trials = {"baseline": sim.baseline_revenue, "portfolio": result.revenue}
    return d, frontier, trials


@pytest.fixture(scope="module")
def page(article) -> str:
    d, frontier, trials = article
    return plan_html(d, frontier=frontier, trials=trials)


def table_rows(markdown: str, header_start: str) -> list[list[str]]:
    """The cells of the Markdown table whose header begins with ``header_start``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header_start}"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().strip("*") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def number(cell: str) -> float:
    return float(cell.replace(",", "").replace("−", "-"))


# ---------------------------------------------------------------- Markdown


def test_markdown_states_the_goal(article):
    d, _, _ = article
    md = plan_markdown(d)
    assert d["goal"]["statement"] in md
    assert d["scenario"] in md.splitlines()[0]


def test_markdown_has_a_contribution_row_for_every_selected_initiative(article):
    d, _, _ = article
    rows = table_rows(plan_markdown(d), "Initiative | Owner | Cost")
    firsts = [r[0] for r in rows]
    for kid in d["selected"]:
        assert sum(f.endswith(f"({kid})") or f == kid for f in firsts) == 1, (kid, firsts)
    assert len(rows) == len(d["selected"]) + 2  # + the sum and the whole


def test_markdown_contributions_add_up_to_the_portfolio_gain(article):
    d, _, _ = article
    rows = {r[0]: r for r in table_rows(plan_markdown(d), "Initiative | Owner | Cost")}
    parts, whole = rows["Sum of the contributions"], rows["Portfolio, simulated together"]
    gain = d["portfolio"]["gain"]["mean"]
    assert number(parts[3]) == pytest.approx(gain, abs=1.0)
    assert number(parts[3]) == pytest.approx(number(whole[3]), abs=1.0)
    churn_points = 100 * (d["baseline"]["churn_rate"]["mean"] - d["portfolio"]["churn_rate"]["mean"])
    assert number(parts[6]) == pytest.approx(churn_points, abs=0.011)
    assert parts[6] == whole[6]


def test_markdown_tables_survive_pipes_and_markup_in_user_text(article):
    d = copy.deepcopy(article[0])
    kid = d["selected"][0]
    d["contribution_details"][kid]["owner"] = "Sales | <b>Ops</b>"
    rows = table_rows(plan_markdown(d), "Initiative | Owner | Cost")
    header = table_rows(plan_markdown(d), "Rank | By volume")  # another table, untouched
    assert len({len(r) for r in rows}) == 1 and header
    row = next(r for r in rows if r[0].endswith(f"({kid})") or r[0] == kid)
    assert row[1] == "Sales \\| &lt;b&gt;Ops&lt;/b&gt;"


# ---------------------------------------------------------------- HTML


def test_html_is_self_contained(page):
    images = re.findall(r"<img\b[^>]*>", page)
    assert len(images) == PLOTS_WITH_EVERYTHING
    for tag in images:
        assert re.search(r'\bsrc="data:image/(svg\+xml|png);base64,', tag), tag[:120]
        assert 'class="plot"' in tag
        assert re.search(r'\balt="[^"]{20,}"', tag), tag[:120]
    for url in re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', page):
        assert url.startswith(("data:", "#")), url[:80]
    outside_images = re.sub(r'"data:[^"]*"', '""', page)
    for needle in ("http://", "https://", "url(", "@import", "<link"):
        assert needle not in outside_images


def test_html_escapes_user_text(article):
    d, frontier, trials = article
    d = copy.deepcopy(d)
    d["scenario"] = '<script>alert("x")</script> & Co'
    kid = d["selected"][0]
    d["contribution_details"][kid]["name"] = "<img src=x onerror=alert(1)>"
    page = plan_html(d)
    assert page.count("<script") == 1  # the page's own
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_without_trials_or_frontier_the_distribution_is_drawn_from_the_bands(article):
    d, _, _ = article
    page = plan_html(d)
    assert len(re.findall(r'<img class="plot" src="data:', page)) == PLOTS_WITH_EVERYTHING - 1
    assert "Retained revenue bands" in page and 'id="plot-frontier"' not in page


# ---------------------------------------------------------------- it renders


def test_the_report_renders_in_headless_chromium(article, page, tmp_path):
    d, _, _ = article
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    dom = rendered_dom(path, tmp_path / "profile")
    assert loaded_plots(dom) == (PLOTS_WITH_EVERYTHING, PLOTS_WITH_EVERYTHING)
    assert html.escape(d["goal"]["statement"], quote=False) in dom


# ---------------------------------------------------------------- the command


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def cli_report(tmp_path_factory, article_path) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = invoke("report", article_path, "--out", out, "--frontier-steps", "2", *RUN)
    assert result.exit_code == 0, result.stderr
    return out


def test_cli_report_writes_one_page_that_renders(cli_report, tmp_path):
    assert sorted(p.name for p in cli_report.parent.iterdir()) == ["report.html"]  # no temporary left
    text = cli_report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and 'id="goal-statement"' in text
    statement = re.search(r'id="goal-statement">([^<]+)</p>', text).group(1)
    dom = rendered_dom(cli_report, tmp_path / "profile")
    assert loaded_plots(dom) == (PLOTS_WITH_EVERYTHING, PLOTS_WITH_EVERYTHING)
    assert statement in dom


def test_cli_report_refuses_to_overwrite_without_force(article_path, tmp_path):
    out = tmp_path / "report.html"
    out.write_text("mine", encoding="utf-8")
    result = invoke("report", article_path, "--out", out, *RUN)
    assert result.exit_code == 2
    assert str(out) in result.stderr and "--force" in result.stderr and "Traceback" not in result.stderr
    assert out.read_text(encoding="utf-8") == "mine"
    result = invoke("report", article_path, "--out", out, "--force", "--frontier-steps", "0", *RUN)
    assert result.exit_code == 0, result.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
