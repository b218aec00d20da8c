"""``--objective value`` on the command line: optimize (alone, with --risk, with --target), frontier,
and the JSON, terminal and plan.md naming the objective; ``--objective cost`` still needs a target."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.cli.value_case import RUN, invoke, write_value_scenario

WORDS = "objective: expected value (margin x retained revenue + savings - cost)"


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return write_value_scenario(tmp_path_factory.mktemp("value"))


def test_optimize_by_value_names_the_objective_in_the_json(path):
    r = invoke("optimize", path, *RUN, "--objective", "value", "--json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    s = d["solver"]
    assert s["objective_name"] == "value" and s["objective"] == "mean"
    assert s["objective_text"] == "expected value (margin x retained revenue + savings - cost)"
    assert s["margin"] == 0.35
    # the value: margin x retained revenue + savings - cost (the plan's own return figures give the parts)
    savings = d["returns"]["portfolio"]["savings"]["mean"]
    want = 0.35 * d["portfolio"]["retained_revenue"]["mean"] + savings - d["total_cost"]
    assert s["expected_value"]["mean"] == pytest.approx(want, rel=1e-9)
    assert s["exact"] == pytest.approx(want, rel=1e-9)
    assert s["baseline_value"]["mean"] == pytest.approx(0.35 * d["baseline"]["retained_revenue"]["mean"], rel=1e-12)
    assert d["binding"] and all(row["objective"] == "value" for row in d["binding"])
    # retained revenue is reported as before
    assert d["portfolio"]["retained_revenue"]["mean"] > d["baseline"]["retained_revenue"]["mean"]


def test_optimize_by_revenue_says_so(path):
    r = invoke("optimize", path, *RUN, "--json")
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)["solver"]
    assert s["objective_name"] == "revenue" and "expected_value" not in s
    assert s["objective_text"] == "expected retained revenue"


def test_value_with_risk_mixes_in_the_cvar_of_the_value(path):
    r = invoke("optimize", path, *RUN, "--objective", "value", "--risk", "cvar:0.1:0.5", "--json")
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)["solver"]
    assert s["objective"] == "cvar:0.1:0.5" and s["objective_name"] == "value"
    assert "CVaR" in s["objective_text"]


def test_terminal_and_plan_md_say_the_objective(path, tmp_path):
    r = invoke("optimize", path, *RUN, "--objective", "value", "--out", tmp_path / "plan")
    assert r.exit_code == 0, r.stderr
    assert WORDS in r.stdout
    assert "Expected value:" in r.stdout
    md = (tmp_path / "plan" / "plan.md").read_text()
    assert WORDS in md
    assert "expected value is" in md


def test_value_with_a_target_ranks_by_expected_value(path):
    r = invoke("optimize", path, *RUN, "--objective", "value", "--target", "churn<=baseline-0.001", "--json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["objective"] == "value" and d["solver"]["objective_name"] == "value"
    assert d["solver"]["exact"] == pytest.approx(d["solver"]["expected_value"]["mean"], rel=1e-12)


def test_frontier_by_value(path):
    r = invoke("frontier", path, *RUN, "--budgets", "150:650:3", "--objective", "value", "--json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["objective"] == "value"
    rows = [row for row in d["frontier"] if row["feasible"]]
    assert rows and all("expected_value" in row for row in rows)
    means = [row["expected_value"]["mean"] for row in rows]
    assert np.all(np.diff(means) >= -1e-6)  # a larger budget never chooses less value
    assert WORDS in invoke("frontier", path, *RUN, "--budgets", "150:650:2", "--objective", "value").stdout


@pytest.mark.parametrize("command", [["optimize"], ["frontier", "--budgets", "100:500:2"]])
def test_cost_without_a_target_is_refused(path, command):
    r = invoke(command[0], path, *RUN, *command[1:], "--objective", "cost", "--json")
    assert r.exit_code == 2
    assert "--objective" in r.stderr and r.stdout == ""


def test_an_unknown_objective_is_refused(path):
    r = invoke("optimize", path, *RUN, "--objective", "profit")
    assert r.exit_code == 2
