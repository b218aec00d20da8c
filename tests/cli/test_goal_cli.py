"""``--goal-metric``, ``--confidence``, ``--target``, ``--require`` and ``--objective`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cxopt.cli import app

ROOT = Path(__file__).resolve().parents[2]
ARTICLE_GOAL = ROOT / "scenarios" / "article_goal.toml"
RUN = ["--customers", "3000", "--trials", "100", "--quiet"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_optimize_states_the_goal_in_a_declared_metric_at_the_confidence():
    r = invoke("optimize", ARTICLE_GOAL, *RUN, "--goal-metric", "csat", "--confidence", "0.8", "--json")
    assert r.exit_code == 0, r.stderr
    g = json.loads(r.stdout)["goal"]
    assert g["metric"] == "csat" and g["confidence"] == 0.8
    assert abs(g["probability_met"] - 0.8) <= 0.01
    assert abs(sum(g["contributions"].values()) - g["expected_increment"]) < 1e-9


def test_target_chooses_and_reports_each_target():
    r = invoke("optimize", ARTICLE_GOAL, *RUN, "--target", "csat>=baseline+3", "--target", "churn<=0.5",
               "--confidence", "0.9", "--objective", "cost", "--json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert [t["as_given"] for t in d["target"]] == ["csat>=baseline+3", "churn<=0.5"]
    assert all(t["met"] and t["probability"] >= 0.9 for t in d["target"])
    assert d["target"][0]["value"] == 75.0  # absolute: today's 72 + 3
    assert d["goal"]["metric"] == "csat"


def test_unreachable_target_exits_3_with_one_json_object():
    r = invoke("optimize", ARTICLE_GOAL, *RUN, "--target", "csat>=90", "--json")
    assert r.exit_code == 3
    d = json.loads(r.stdout)
    assert d["status"] == "infeasible" and d["best_probability"] == 0.0 and d["best_portfolio"]
    assert "highest probability reachable" in r.stderr


def test_requirement_is_reported():
    r = invoke("optimize", ARTICLE_GOAL, *RUN, "--require", "churn.p90<=0.5", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["requirements"][0]["met"] is True


def test_bad_goal_options_are_bad_input_naming_the_flag():
    for args, flag in ((["--goal-metric", "happiness"], "--goal-metric"), (["--confidence", "1.5"], "--confidence"),
                       (["--target", "csat>75"], "--target"), (["--objective", "cost"], "--objective"),
                       (["--require", "churn.p900<=1"], "--require")):
        r = invoke("optimize", ARTICLE_GOAL, *RUN, *args)
        assert r.exit_code == 2, (args, r.stderr)
        assert flag in r.stderr


def test_frontier_rows_carry_the_goal():
    r = invoke("frontier", ARTICLE_GOAL, *RUN, "--budgets", "500000:1250000:2", "--goal-metric", "csat", "--json")
    assert r.exit_code == 0, r.stderr
    rows = [row for row in json.loads(r.stdout)["frontier"] if row["feasible"]]
    assert rows and all(row["goal"]["metric"] == "csat" for row in rows)


def test_report_page_states_the_goal_in_the_metric(tmp_path):
    out = tmp_path / "report.html"
    r = invoke("report", ARTICLE_GOAL, *RUN, "--out", out, "--frontier-steps", "0", "--goal-metric", "csat")
    assert r.exit_code == 0, r.stderr
    page = out.read_text()
    assert "Raise CSAT" in page and "CSAT level" in page


def test_exact_target_values_every_portfolio_where_the_default_would_screen(monkeypatch):
    """Above EXACT_WORK the choice screens with the surrogate; --exact-target values every portfolio on
    every trial instead, and says so (proven)."""
    import cxopt.portfolio.chance as chance

    monkeypatch.setattr(chance, "EXACT_WORK", 0)  # every case counts as large
    args = ("optimize", ARTICLE_GOAL, *RUN, "--target", "churn<=baseline-0.01", "--confidence", "0.8", "--json")
    screened = json.loads(invoke(*args).stdout)["solver"]
    exact = json.loads(invoke(*args, "--exact-target").stdout)["solver"]
    assert "screened" in screened["method"]
    assert exact["method"] == "every feasible portfolio evaluated on the trials"
    assert exact["status"] == "optimal" and exact["proven_optimal"]
