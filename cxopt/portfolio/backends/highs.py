"""HiGHS through highspy, the model kept alive between solves: the default where highspy is installed.

PuLP 3.3's HiGHS adapter (``pulp/apis/highs_api.py``) rebuilds the model column by column
and row by row in Python on every solve and refuses resolves and warm starts, which made a
no-good walk of 50 solves spend most of its time rebuilding. Here the program's arrays
(:class:`~cxopt.portfolio.matrix.MatrixModel`) go to ``highspy`` once (``passModel``); each
no-good cut is one ``addRows``, a budget move one ``changeRowBounds``, and each solve starts
from the problem's warm start (``setSolution`` on the ``x`` columns: HiGHS completes it).
PuLP remains the modelling layer for CBC (:mod:`cxopt.portfolio.backends.cbc`).

HiGHS's model status is first turned into the ``(status, sol_status)`` pair PuLP 3.3's
adapter would set (``findSolutionValues``), so that one ``STATUS_MAP`` keyed on PuLP's pairs
reads both routes: proven optimal is ``kOptimal`` only.
"""

from __future__ import annotations

import time

import numpy as np

from cxopt.errors import SolverError
from cxopt.portfolio.backends.pulp_base import LP_SOLUTION as SOL
from cxopt.portfolio.backends.pulp_base import LP_STATUS as ST
from cxopt.portfolio.backends.pulp_base import PulpBackend
from cxopt.portfolio.backends.scaling import Scaling
from cxopt.portfolio.matrix import highs_inf, rows_csr
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.result import SOLVED, STATUS_ERROR, STATUS_FEASIBLE, STATUS_INFEASIBLE, STATUS_OPTIMAL, \
    SolveOutcome

__all__ = ["HighsBackend", "pulp_pair"]

_NO_SOLUTION = (ST["NotSolved"], SOL["NoSolutionFound"])
_STOPPED = (ST["Optimal"], SOL["IntegerFeasible"])  # stopped early with an incumbent
# HiGHS model status name -> the pair PuLP 3.3's adapter sets for it
_PULP_PAIRS = {
    "kOptimal": (ST["Optimal"], SOL["Optimal"]),
    "kInfeasible": (ST["Infeasible"], SOL["Infeasible"]),
    "kUnboundedOrInfeasible": (ST["Infeasible"], SOL["Infeasible"]),
    "kUnbounded": (ST["Unbounded"], SOL["Unbounded"]),
    "kObjectiveBound": _STOPPED, "kObjectiveTarget": _STOPPED, "kInterrupt": _STOPPED,
    "kTimeLimit": _STOPPED, "kIterationLimit": _STOPPED, "kSolutionLimit": _STOPPED,
}


def pulp_pair(model_status: str, has_solution: bool) -> tuple[int, int]:
    """PuLP's ``(status, sol_status)`` for a HiGHS model status (errors and kUnknown: not solved)."""
    pair = _PULP_PAIRS.get(model_status, _NO_SOLUTION)
    if pair == _STOPPED and not has_solution:
        return _NO_SOLUTION  # a limit reached before any incumbent
    return pair


class HighsRun:
    """What one solve is told: its time limit and the portfolio to start from (PuLP's "command")."""

    def __init__(self, time_limit: float | None, start: tuple[int, ...] | None):
        self.time_limit, self.start = time_limit, start


class HighsSession:
    """A live ``highspy.Highs`` holding the problem's model, kept in step with its rows."""

    def __init__(self, model):
        import highspy

        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("threads", 1)
        self.scaling = Scaling(model)  # well-scaled units (backends/scaling.py)
        self.h.passModel(self.scaling.model(model).highs_lp())
        self.n_rows = len(model.rows)
        self.n_x = model.n_x
        # the two numbers a solved PuLP problem carries, so that ``status_of`` reads this route too
        self.status, self.sol_status, self.model_status = None, None, ""

    def sync(self, model) -> None:
        import highspy

        if len(model.rows) < self.n_rows:  # cuts dropped (a new walk on the same model)
            self.h.deleteRows(self.n_rows - len(model.rows), np.arange(len(model.rows), self.n_rows, dtype=np.int32))
            self.n_rows = len(model.rows)
        if len(model.rows) > self.n_rows:
            starts, index, value, lower, upper = rows_csr(self.scaling.rows(model, self.n_rows))
            self.h.addRows(len(lower), highs_inf(lower), highs_inf(upper),
                           int(index.size), starts[:-1].astype(np.int32), index, value)
            self.n_rows = len(model.rows)
        for r in model.budget_rows.values():
            self.h.changeRowBounds(r, -highspy.kHighsInf, self.scaling.budget_upper(model, r))

    def solve(self, run: HighsRun) -> None:
        import highspy

        time_limit, start = run.time_limit, run.start
        h = self.h
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else highspy.kHighsInf)
        if start is not None:
            values = np.zeros(self.n_x)
            values[list(start)] = 1.0
            h.setSolution(self.n_x, np.arange(self.n_x, dtype=np.int32), values)
        h.run()
        status = h.getModelStatus()
        self.model_status = h.modelStatusToString(status)
        if status.name == "kModelEmpty":  # no candidates: the empty portfolio, if the rows allow it
            lp = h.getLp()
            ok = bool(np.all(np.asarray(lp.row_lower_) <= 1e-9) and np.all(np.asarray(lp.row_upper_) >= -1e-9))
            self.status, self.sol_status = pulp_pair("kOptimal" if ok else "kInfeasible", ok)
            return
        has_solution = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        self.status, self.sol_status = pulp_pair(status.name, has_solution)

    def selection(self) -> tuple[int, ...]:
        if self.n_x == 0:
            return ()
        x = np.asarray(self.h.getSolution().col_value[: self.n_x])
        return tuple(int(k) for k in np.nonzero(x > 0.5)[0])


class HighsBackend(PulpBackend):
    name = "highs"
    OTHER = "cbc"
    UNAVAILABLE = "HiGHS is not available (pip install highspy); use solver='cbc'"
    STATUS_MAP = {
        (ST["Optimal"], SOL["Optimal"]): STATUS_OPTIMAL,  # kOptimal
        # kTimeLimit, kIterationLimit, kInterrupt, kObjectiveBound/Target with an incumbent
        (ST["Optimal"], SOL["IntegerFeasible"]): STATUS_FEASIBLE,
        (ST["Infeasible"], SOL["Infeasible"]): STATUS_INFEASIBLE,  # kInfeasible, kUnboundedOrInfeasible
        (ST["Unbounded"], SOL["Unbounded"]): STATUS_ERROR,  # cannot happen with binaries: a modelling error
        # errors, kUnknown, and a time limit without an incumbent
        (ST["NotSolved"], SOL["NoSolutionFound"]): STATUS_ERROR,
    }

    def command(self, time_limit: float | None, start: tuple[int, ...] | None = None):
        return HighsRun(time_limit, start)

    def available(self) -> bool:
        try:
            import highspy  # noqa: F401
        except ImportError:
            return False
        return True

    def solve_problem(self, problem: PortfolioProblem, time_limit: float | None) -> SolveOutcome:
        model = problem.matrix_model()
        try:
            session = problem.sessions.get(self.name)
            if session is None:
                session = problem.sessions[self.name] = HighsSession(model)
            session.sync(model)
        except (RuntimeError, ValueError) as exc:  # highspy raises these on a model it cannot take
            raise SolverError(f"the {self.name} solver failed: {exc}; try another solver "
                              f"(solver={self.OTHER!r})") from None
        t0 = time.perf_counter()
        word = self.solve_model(session, self.command(time_limit, problem.warm_start()))
        seconds = time.perf_counter() - t0
        native = f"{session.model_status} ({self.native_status(session)})"
        if word not in SOLVED:
            return SolveOutcome(word, seconds=seconds, native=native)
        selected = session.selection()
        problem.incumbent = selected
        return SolveOutcome(word, selected, problem.estimate(selected), seconds=seconds, native=native)
