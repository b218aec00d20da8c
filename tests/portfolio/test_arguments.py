"""Bad parameters are :class:`ArgumentError` naming the Python parameter (``top``), never a
CLI flag (``--top``): the CLI boundary translates the name into its flag itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import cxopt
from cxopt.errors import ArgumentError, BadInputError, Problem, ScenarioError
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.frontier import frontier
from cxopt.portfolio.risk import parse_risk
from cxopt.portfolio.search import optimize
from tests.portfolio.test_optimize import FOUR, initiative, pain, scenario_dict, simulate

PORTFOLIO = Path(cxopt.__file__).parent / "portfolio"


@pytest.fixture(scope="module")
def sim():
    return simulate(scenario_dict([pain("p1"), pain("p2")], FOUR, budget=500.0, max_initiatives=2), trials=10)


@pytest.mark.parametrize("parameter,value,reason", [
    ("top", 0, "must be at least 1, got 0"),
    ("max_initiatives", 0, "must be at least 1, got 0"),
    ("owner_capacity", -1, "must be at least 1, got -1"),
    ("budget", -5.0, "must be >= 0, got -5"),
    ("solver", "gurobi", "expected highs, cbc, exhaustive or auto, got 'gurobi'"),
    ("time_limit", 0, "must be a positive number of seconds (or None), got 0"),
    ("risk", "cvar:0.1", "expected cvar:ALPHA:BETA (e.g. cvar:0.1:0.5), got 'cvar:0.1'"),
    ("risk", "cvar:2:0.5", "expected cvar:ALPHA:BETA with 0 < ALPHA <= 1 and 0 <= BETA <= 1, got 'cvar:2:0.5'"),
])
def test_a_bad_parameter_is_an_argument_error_naming_it(sim, parameter, value, reason):
    with pytest.raises(ArgumentError) as info:
        optimize(sim, **{parameter: value})
    assert info.value.problems == [Problem("", parameter, reason)]
    assert str(info.value) == f"{parameter}: {reason}"


def test_every_bad_parameter_is_reported_at_once(sim):
    with pytest.raises(ArgumentError) as info:
        optimize(sim, top=0, solver="glpk", risk="var:0.1:0.5")
    assert [p.path for p in info.value.problems] == ["risk", "solver", "top"]


def test_argument_errors_are_bad_input_but_not_scenario_errors(sim):
    with pytest.raises(BadInputError) as info:
        optimize(sim, top=0)
    assert not isinstance(info.value, ScenarioError)


def test_constraints_from_a_scenario_check_their_overrides(sim):
    with pytest.raises(ArgumentError, match=r"^budget: must be >= 0"):
        Constraints.from_scenario(sim.scenario, budget=-1.0)


def test_a_negative_budget_in_a_frontier_names_budgets(sim):
    with pytest.raises(ArgumentError) as info:
        frontier(sim, [100.0, -1.0])
    assert [p.path for p in info.value.problems] == ["budgets"]


def test_parse_risk_reads_alpha_and_beta():
    assert parse_risk("cvar:0.1:0.5") == (0.1, 0.5)


def test_a_scenario_problem_stays_a_scenario_error():
    spec = scenario_dict([pain("p1")], [initiative("a_fix", {"p1": 0.5}, cost=100.0)], budget={"h1": 50.0, "h2": 50.0})
    with pytest.raises(ScenarioError):
        cxopt.parse_scenario(spec, source="arguments-test.toml")


def messages(path: Path) -> list[str]:
    """Every string literal in a module but its docstrings (f-strings' literal parts included)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_message_in_the_portfolio_stage_names_a_cli_flag():
    flag = re.compile(r"--[a-z][a-z-]*")
    found = [f"{p.relative_to(PORTFOLIO)}: {m!r}" for p in sorted(PORTFOLIO.rglob("*.py"))
             for m in messages(p) if flag.search(m)]
    assert not found, found


def test_the_flag_check_sees_a_flag(tmp_path):
    (tmp_path / "probe.py").write_text('"""Docstrings may say --json."""\nraise ValueError(f"use --top {1}")\n')
    assert messages(tmp_path / "probe.py") == ["use --top "]
