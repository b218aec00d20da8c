"""``cxopt report`` takes optimize's ``--objective``, ``--target`` and ``--require``: the page shows the
portfolio ``cxopt optimize`` chooses with the same options (the same expected value, to the cent)
and says which objective chose it; bad combinations are refused before any simulation."""

from __future__ import annotations

import html
import json

import pytest
from cxopt.report.terminal import money
from tests.cli.value_case import RUN, invoke, write_value_scenario

VALUE = "expected value (margin x retained revenue + savings - cost)"


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return write_value_scenario(tmp_path_factory.mktemp("report_value"))


def page_of(path, tmp_path, *options) -> str:
    out = tmp_path / "report.html"
    r = invoke("report", path, *RUN, "--frontier-steps", "3", "--out", out, *options)
    assert r.exit_code == 0, r.stderr
    return html.unescape(out.read_text())


def lead(page: str) -> str:
    return page.split('id="lead-note">', 1)[1].split("</p>", 1)[0]


def plan_of(path, *options) -> dict:
    r = invoke("optimize", path, *RUN, "--json", *options)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_report_help_lists_optimize_s_choice_options():
    r = invoke("report", "--help")
    assert r.exit_code == 0
    for flag in ("--objective", "--target", "--require"):
        assert flag in r.stdout


def test_report_by_value_shows_optimize_s_portfolio_and_names_the_objective(path, tmp_path):
    d = plan_of(path, "--objective", "value")
    page = page_of(path, tmp_path, "--objective", "value")
    assert lead(page) == f"Portfolio chosen by {VALUE}."
    assert f"objective: {VALUE}" in page
    cur = d["currency"]
    assert f"expected value is {money(d['solver']['expected_value']['mean'], cur)}" in page
    assert money(d["total_cost"], cur) in page
    # the frontier around the budget is chosen by value too, and its returns count the savings
    assert "extra gain in margin on retained revenue plus operating savings per extra unit of cost" in page


def test_report_by_default_is_by_revenue(path, tmp_path):
    page = page_of(path, tmp_path)
    assert lead(page) == "Portfolio chosen by expected retained revenue."
    assert "expected value is" not in page


def test_report_with_a_target_chooses_as_optimize_does(path, tmp_path):
    options = ["--objective", "value", "--target", "churn<=baseline-0.001"]
    d = plan_of(path, *options)
    page = page_of(path, tmp_path, *options)
    assert f"expected value is {money(d['solver']['expected_value']['mean'], d['currency'])}" in page
    assert f"Portfolio chosen by {VALUE}." == lead(page)


def test_report_cheapest_meeting_a_target(path, tmp_path):
    options = ["--objective", "cost", "--target", "churn<=baseline-0.001"]
    d = plan_of(path, *options)
    page = page_of(path, tmp_path, *options)
    assert lead(page) == "Portfolio chosen by least cost meeting the targets."
    assert f"portfolio cost {money(d['total_cost'], d['currency'])}" in page


@pytest.mark.parametrize("options,flag", [(["--objective", "cost"], "--objective"),
                                          (["--target", "nps>=nonsense"], "--target"),
                                          (["--require", "churn.p90"], "--require")])
def test_bad_choice_options_are_refused_before_the_simulation(path, tmp_path, options, flag):
    out = tmp_path / "report.html"
    r = invoke("report", path, *RUN, "--out", out, *options)
    assert r.exit_code == 2
    assert flag in r.stderr
    assert not out.exists()


def test_an_unreachable_target_is_exit_3_and_writes_nothing(path, tmp_path):
    out = tmp_path / "report.html"
    r = invoke("report", path, *RUN, "--out", out, "--target", "churn<=0.0001", "--confidence", "0.9")
    assert r.exit_code == 3
    assert "highest probability reachable" in r.stderr
    assert not out.exists()
