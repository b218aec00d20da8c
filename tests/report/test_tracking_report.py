"""The tracking page (issue 7, item 5): ``report.tracking.tracking_html(Tracking.to_dict())``.

* The headline numbers are on the page as the terminal and the JSON give them: the goal's
  probability before and now, the re-forecast of retained revenue and churn, the effective
  sample size, and the advice to re-simulate exactly when the result advises it.
* The initiatives table has one row per initiative (owner, status, state); the wins are listed.
* The page is self-contained (every ``<img>`` a ``data:`` URI, nothing fetched) and escapes
  user text (owners, ids, metric names, the title).
* It renders: headless Chromium opens it and every plot decoded (the page's own script
  counts them into ``<body data-loaded>``), the fan chart and one plot per initiative.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import numpy as np
import pytest

import cxopt
from cxopt.plan.build import build_plan
from cxopt.report.plandir import save_plan
from cxopt.report.terminal import money, pct
from cxopt.report.tracking import tracking_html
from cxopt.tracking.track import Actuals, track
from tests import builders
from tests.builders import DROP
from tests.report.browser import loaded_plots, rendered_dom

# The builders' small scenario (three initiatives with a process metric each) without a
# market multiplier; one owner carries markup (escaped end to end).
SCENARIO = builders.scenario(
    {"scenario.name": "tracking page", "scenario.trials": 300, "scenario.seed": 7, "customers.count": 5_000,
     "initiatives[0].owner": "Head of <Billing> & Co"},
    market=DROP,
)
IDS = ["first_call_fix", "virtual_hold", "billing_portal"]


def actuals() -> Actuals:
    """Three months: losses, first_call_fix live as planned (a win), virtual_hold cancelled."""
    months = np.array([1, 2, 3], dtype=np.int64)
    nan = np.full(3, np.nan)
    return Actuals(months=months, customers_lost=np.array([40.0, 38.0, 37.0]), revenue_lost=nan.copy(),
                   customers_active=nan.copy(),
                   metric={"first_call_fix": np.array([2.0, 1.5, 1.3]),
                           "billing_portal": np.array([np.nan, 4.0, 9.0])},
                   status={"first_call_fix": ["planned", "planned", "live"],
                           "virtual_hold": ["planned", "cancelled", None]},
                   live_month={})


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tracking-page")
    sc = cxopt.load_scenario(builders.write(root / "scenario.toml", SCENARIO))
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=5_000), seed=3)
    plan = build_plan(cxopt.optimize(sim))
    assert plan.result.selected_ids == IDS
    return save_plan(plan, root / "plan")


@pytest.fixture(scope="module")
def tracked(plan_dir) -> dict:
    d = track(plan_dir, actuals()).to_dict()
    assert d["initiatives"]["virtual_hold"]["state"] == "off_track"
    assert [w["initiative"] for w in d["wins"]] == ["first_call_fix"]
    return d


@pytest.fixture(scope="module")
def page(tracked) -> str:
    return tracking_html(tracked)


def section(page: str, key: str) -> str:
    found = re.search(rf'<section id="{key}"[^>]*>(.*?)</section>', page, re.S)
    assert found, f"no section {key!r}"
    return found.group(1)


def body_rows(fragment: str) -> list[list[str]]:
    """The cells (HTML as written, still escaped) of the first table's body in ``fragment``."""
    tbody = re.search(r"<tbody>(.*?)</tbody>", fragment, re.S).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", tbody, re.S)]


def esc(text: str) -> str:
    return html.escape(text)


# ---------------------------------------------------------------- content


def test_the_headline_has_the_reforecast_goal_probability_and_ess(tracked, page):
    head = section(page, "goal")
    gp, rf = tracked["goal_probability"], tracked["reforecast"]
    assert esc(f"{pct(gp['before'], 0)} when planned, {pct(gp['now'], 0)} now") in head
    assert esc(f"at or below {pct(gp['target_churn_rate'])}") in head
    rows = {r[0]: r for r in body_rows(head)}
    assert rows["Retained revenue"][1] == esc(money(rf["planned_retained_revenue"]["mean"], tracked["currency"]))
    assert rows["Retained revenue"][3] == esc(money(rf["retained_revenue"]["mean"], tracked["currency"]))
    assert rows["Retained revenue"][4] == esc(f"{money(rf['retained_revenue']['p10'], tracked['currency'])} – "
                                              f"{money(rf['retained_revenue']['p90'], tracked['currency'])}")
    assert rows["Churn rate"][1] == pct(rf["planned_churn_rate"]["mean"])
    assert rows["Churn rate"][3] == pct(rf["churn_rate"]["mean"])
    assert rows["Probability of meeting the goal"][1] == pct(gp["before"], 0)
    assert rows["Probability of meeting the goal"][3] == pct(gp["now"], 0)
    assert f"effective sample size of {tracked['effective_sample_size']:,.0f}" in head
    assert f"{tracked['particles']:,} particles" in head
    assert f"dispersion {tracked['dispersion']['value']:,.0f} ({tracked['dispersion']['how']})" in head
    assert "--resimulate" not in head  # retired: the posterior is rejuvenated, never re-simulated


def test_a_row_per_initiative_and_the_wins(tracked, page):
    rows = body_rows(section(page, "initiatives"))
    assert [r[0] for r in rows] == IDS
    for row in rows:
        v = tracked["initiatives"][row[0]]
        assert row[1] == esc(v["owner"]) and row[2] == v["status"]
        assert row[3] == v["state"].replace("_", " ")
        assert row[5] == esc(money(v["contribution"], tracked["currency"]))
        assert row[6] == esc(money(v["planned_contribution"], tracked["currency"]))
    assert rows[0][1] == "Head of &lt;Billing&gt; &amp; Co"
    assert rows[1][2:4] == ["cancelled", "off track"]
    why = tracked["wins"][0]["why"]
    assert f"<li>first_call_fix (Head of &lt;Billing&gt; &amp; Co): {why}</li>" in section(page, "wins")


def test_the_month_table_has_the_actuals_and_both_bands(tracked, page):
    rows = body_rows(section(page, "months"))
    assert len(rows) == len(tracked["months"]) == 12
    assert [r[0] for r in rows] == [f"2027-{m:02d}" for m in range(1, 13)]  # the scenario's start date
    undated = body_rows(section(tracking_html(dict(tracked, start=None)), "months"))
    assert [r[0] for r in undated] == [str(m) for m in range(1, 13)]
    assert [r[1] for r in rows] == ["40", "38", "37"] + [""] * 9
    for row, m in zip(rows, tracked["months"], strict=True):
        assert row[2] == f"{m['planned_customers_lost']['p50']:,.0f}"
        assert row[4] == f"{m['forecast_customers_lost']['p50']:,.0f}"
    dated = body_rows(section(tracking_html(dict(tracked, start="2027-01-01", currency="EUR")), "months"))
    assert [r[0] for r in dated[:3]] == ["2027-01", "2027-02", "2027-03"]


# ---------------------------------------------------------------- self-contained, escaped


def test_every_image_is_a_data_uri_one_fan_and_one_plot_per_initiative(tracked, page):
    images = re.findall(r"<img\b[^>]*>", page)
    assert len(images) == 1 + len(IDS)
    for tag in images:
        assert re.search(r'\bsrc="data:image/(svg\+xml|png);base64,', tag), tag[:120]
        assert 'class="plot"' in tag and re.search(r'\balt="[^"]{20,}"', tag), tag[:160]
    assert 'id="plot-fan"' in page
    for kid in IDS:
        assert f'id="plot-metric-{kid}"' in page
    for url in re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', page):
        assert url.startswith(("data:", "#")), url[:80]
    outside_images = re.sub(r'"data:[^"]*"', '""', page)
    for needle in ("http://", "https://", "url(", "@import", "<link"):
        assert needle not in outside_images
    assert "Content-Security-Policy" in page and "img-src data:" in page


def test_user_text_is_escaped(tracked):
    d = copy.deepcopy(tracked)
    evil = "<img src=x onerror=alert(1)>"
    d["initiatives"] = {evil if k == "virtual_hold" else k: v for k, v in d["initiatives"].items()}
    d["initiatives"][evil]["metric_name"] = '<script>alert("m")</script>'
    d["initiatives"]["billing_portal"]["owner"] = "Sales | <b>Ops</b>"
    d["wins"] = [{"initiative": evil, "owner": "<i>me</i>", "why": "metric ahead of plan"}]
    page = tracking_html(d, title='<script>alert("x")</script> & Co')
    assert page.count("<script") == 1  # the page's own
    assert "<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</title>" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;alert(&quot;m&quot;)&lt;/script&gt;" in page
    assert "<b>Ops</b>" not in page and "Sales | &lt;b&gt;Ops&lt;/b&gt;" in page
    assert "<i>me</i>" not in page
    assert len(re.findall(r"<img\b", page)) == 1 + len(IDS)


# ---------------------------------------------------------------- it renders


def test_the_tracking_page_renders_in_headless_chromium(tracked, page, tmp_path):
    path = tmp_path / "tracking.html"
    path.write_text(page, encoding="utf-8")
    dom = rendered_dom(path, tmp_path / "profile")
    assert loaded_plots(dom) == (1 + len(IDS), 1 + len(IDS))
    gp = tracked["goal_probability"]
    assert f"{pct(gp['before'], 0)} when planned, {pct(gp['now'], 0)} now" in dom


def test_cli_track_html_writes_the_page_and_refuses_to_overwrite(plan_dir, tmp_path):
    from typer.testing import CliRunner

    from cxopt.cli import app

    acts = tmp_path / "actuals.csv"
    acts.write_text("month,customers_lost\n1,40\n2,38\n", encoding="utf-8")
    out = tmp_path / "tracking.html"
    result = CliRunner().invoke(app, ["track", str(plan_dir), str(acts), "--html", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "reforecast" in result.stdout
    before = out.read_bytes()
    again = CliRunner().invoke(app, ["track", str(plan_dir), str(acts), "--html", str(out)])
    assert again.exit_code == 2 and "--force" in again.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["actuals.csv", "tracking.html"]  # no temporary left
