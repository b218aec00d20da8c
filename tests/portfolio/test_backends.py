"""Every backend against the canonical problems, and each adapter's status map.

PuLP reports two numbers, ``status`` and ``sol_status``. Proven optimal is
``sol_status == LpSolutionOptimal`` only; "Optimal" beside an integer-feasible solution
status (a time limit with an incumbent), or beside no solution status at all, is
``feasible_not_proven``. PuLP's codes never leave the adapter: everything past it speaks
cxopt's four words.
"""

from __future__ import annotations

import pytest

from cxopt.errors import SolverError
from cxopt.portfolio.backends import BACKENDS, backend_for
from cxopt.portfolio.backends.cbc import CbcBackend
from cxopt.portfolio.backends.exhaustive import ExhaustiveBackend
from cxopt.portfolio.backends.highs import HighsBackend
from cxopt.portfolio.backends.pulp_base import LP_SOLUTION, LP_STATUS
from cxopt.portfolio.result import (
    STATUS_ERROR,
    STATUS_FEASIBLE,
    STATUS_INFEASIBLE,
    STATUS_OPTIMAL,
    SolveOutcome,
)
from cxopt.portfolio.search import optimize
from tests.portfolio.backend_cases import BackendCases, knapsack, problem
from tests.portfolio.test_optimize import FOUR, pain, scenario_dict, simulate


# --------------------------------------------------------------------------------------
# the canonical problems, once per backend
# --------------------------------------------------------------------------------------
class TestHighs(BackendCases):
    backend = HighsBackend()


class TestCbc(BackendCases):
    backend = CbcBackend()


class TestExhaustive(BackendCases):
    backend = ExhaustiveBackend()


def test_every_registered_backend_runs_the_canonical_problems():
    tested = {cls.backend.name for cls in (TestHighs, TestCbc, TestExhaustive)}
    assert tested == set(BACKENDS)


# --------------------------------------------------------------------------------------
# PuLP adapters: (status, sol_status) -> cxopt's word
# --------------------------------------------------------------------------------------
class FakeProblem:
    """What a PuLP problem looks like to the adapter after ``solve``: two numbers."""

    def __init__(self, status, sol_status):
        self.status, self.sol_status = status, sol_status

    def solve(self, solver):
        return self.status


ST, SOL = LP_STATUS, LP_SOLUTION

# pairs every PuLP adapter must map the same way, whether or not its solver produces them
PULP_PAIRS = [
    (ST["Optimal"], SOL["Optimal"], STATUS_OPTIMAL),
    # a time limit that stops with an incumbent: PuLP 3.3 still says "Optimal"
    (ST["Optimal"], SOL["IntegerFeasible"], STATUS_FEASIBLE),
    # "Optimal" with no solution status, or one PuLP does not define: not a proof
    (ST["Optimal"], None, STATUS_FEASIBLE),
    (ST["Optimal"], 99, STATUS_FEASIBLE),
    # "Optimal" beside a solution status that says there is none: contradictory, no answer
    (ST["Optimal"], SOL["NoSolutionFound"], STATUS_ERROR),
    (ST["Optimal"], SOL["Infeasible"], STATUS_ERROR),
    (ST["Infeasible"], SOL["Infeasible"], STATUS_INFEASIBLE),
    (ST["NotSolved"], SOL["NoSolutionFound"], STATUS_ERROR),
    # PuLP's default solution status for "Not Solved" is "Infeasible": not a proof of infeasibility
    (ST["NotSolved"], SOL["Infeasible"], STATUS_ERROR),
    (ST["NotSolved"], None, STATUS_ERROR),
    (ST["Undefined"], SOL["NoSolutionFound"], STATUS_ERROR),
    (ST["Unbounded"], SOL["Unbounded"], STATUS_ERROR),
    (None, None, STATUS_ERROR),
    (42, SOL["Optimal"], STATUS_ERROR),  # a status code PuLP does not define
]
PULP_BACKENDS = [HighsBackend, CbcBackend]


@pytest.mark.parametrize("backend", PULP_BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize("status,sol_status,word", PULP_PAIRS)
def test_every_pulp_status_pair_maps_to_a_cxopt_word(backend, status, sol_status, word):
    assert backend().solve_model(FakeProblem(status, sol_status), command=None) == word


@pytest.mark.parametrize("backend", PULP_BACKENDS, ids=lambda b: b.name)
def test_every_pair_in_a_status_map_is_one_pulp_defines(backend):
    import pulp

    for (status, sol_status), word in backend.STATUS_MAP.items():
        assert status in pulp.LpStatus and sol_status in pulp.LpSolution, (status, sol_status)
        assert backend().status_of(FakeProblem(status, sol_status)) == word


def test_cbc_integer_infeasible_is_infeasible():
    # CBC's "Integer infeasible" comes back as status Infeasible with no solution found
    assert CbcBackend().status_of(FakeProblem(ST["Infeasible"], SOL["NoSolutionFound"])) == STATUS_INFEASIBLE


def test_the_adapters_names_for_pulp_codes_are_pulps():
    import pulp

    assert LP_STATUS == {"NotSolved": pulp.LpStatusNotSolved, "Optimal": pulp.LpStatusOptimal,
                         "Infeasible": pulp.LpStatusInfeasible, "Unbounded": pulp.LpStatusUnbounded,
                         "Undefined": pulp.LpStatusUndefined}
    assert LP_SOLUTION == {"NoSolutionFound": pulp.LpSolutionNoSolutionFound, "Optimal": pulp.LpSolutionOptimal,
                           "IntegerFeasible": pulp.LpSolutionIntegerFeasible,
                           "Infeasible": pulp.LpSolutionInfeasible, "Unbounded": pulp.LpSolutionUnbounded}


@pytest.mark.parametrize("backend", PULP_BACKENDS, ids=lambda b: b.name)
def test_a_pulp_solver_failure_is_a_solver_error_that_names_another_solver(backend):
    import pulp

    class Failing(FakeProblem):
        def solve(self, solver):
            raise pulp.PulpSolverError("boom")

    with pytest.raises(SolverError, match="solver=") as info:
        backend().solve_model(Failing(None, None), command=None)
    assert "--" not in str(info.value)


def test_exhaustive_status_map_words():
    assert ExhaustiveBackend.STATUS_MAP == {"best_found": STATUS_OPTIMAL, "none_feasible": STATUS_INFEASIBLE}


# --------------------------------------------------------------------------------------
# the outcome is checked before it is trusted
# --------------------------------------------------------------------------------------
class LyingBackend(ExhaustiveBackend):
    """Answers a fixed selection, 'proven optimal', whatever the rules say."""

    name = "liar"

    def __init__(self, selected):
        self.selected = selected

    def solve_problem(self, problem, time_limit):
        return SolveOutcome(STATUS_OPTIMAL, self.selected, 0.0)


def test_a_selection_that_breaks_a_rule_is_a_solver_error():
    prob, _, _ = knapsack()  # budget 7
    with pytest.raises(SolverError, match="budget"):
        LyingBackend((0, 1)).solve(prob)  # costs 10


def test_a_selection_a_no_good_cut_excludes_is_a_solver_error():
    prob, best, _ = knapsack()
    prob.exclude(best)
    with pytest.raises(SolverError, match="no-good"):
        LyingBackend(best).solve(prob)


def test_an_outcome_says_only_cxopt_words():
    with pytest.raises(ValueError):
        SolveOutcome("Optimal", (0,), 1.0)
    with pytest.raises(ValueError):
        SolveOutcome(STATUS_OPTIMAL)  # a solved outcome without its portfolio


# --------------------------------------------------------------------------------------
# through the whole search
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_sim():
    spec = scenario_dict([pain("p1"), pain("p2")], FOUR, budget=500.0, max_initiatives=2)
    return simulate(spec, trials=40)


def test_optimal_without_a_solution_status_is_not_called_optimal(small_sim, monkeypatch):
    """HiGHS solves for real; its problem object then loses its solution status."""
    real = HighsBackend.solve_model

    def solve_model(self, prob, command):
        real(self, prob, command)
        prob.sol_status = None
        return self.status_of(prob)

    monkeypatch.setattr(HighsBackend, "solve_model", solve_model)
    result = optimize(small_sim, solver="highs")
    assert result.solver["status"] == STATUS_FEASIBLE
    assert result.solver["proven_optimal"] is False
    assert result.constraints.violations(result.selected) == []


@pytest.mark.parametrize("solver", ["highs", "cbc", "exhaustive"])
def test_every_backend_reports_the_same_solver_keys(small_sim, solver):
    keys = {"name", "status", "proven_optimal", "stopped_by", "seconds", "first_solve_seconds", "solve_seconds",
            "candidates_evaluated", "estimate", "exact", "gap", "objective",
            "objective_name", "objective_text"}
    assert set(optimize(small_sim, solver=solver).solver) == keys


def test_the_three_backends_agree_through_the_search(small_sim):
    chosen = {s: optimize(small_sim, solver=s).selected for s in ("highs", "cbc", "exhaustive")}
    assert len(set(chosen.values())) == 1, chosen


def test_auto_is_highs_where_highspy_is_installed():
    assert backend_for("auto").name == ("highs" if HighsBackend().available() else "cbc")


def test_an_infeasible_canonical_problem_is_infeasible_for_all():
    prob = problem([1.0], costs=[10], budget=5, must=[0])
    for cls in BACKENDS.values():
        assert cls().solve(prob, time_limit=10).status == STATUS_INFEASIBLE
