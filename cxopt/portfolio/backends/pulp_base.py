"""What the two PuLP backends (HiGHS, CBC) share: solving the PuLP model and reading PuLP's
two-number status (``prob.status``, ``prob.sol_status``) through the backend's ``STATUS_MAP``.

Conservative (NOTES.md, PuLP 3.3): proven optimal is ``sol_status == LpSolutionOptimal``
only. ``status == Optimal`` with an integer-feasible solution status is a time limit that
stopped with an incumbent; with no solution status (``None``) or a code PuLP does not define
it is not a proof either: both are ``feasible_not_proven`` (and the selection is still
checked against every rule). Any other pair the map does not list is ``error``, including
"Optimal" beside a known solution status that contradicts it (no solution found, infeasible).
"""

from __future__ import annotations

import time
from typing import ClassVar

from cxopt.errors import SolverError
from cxopt.portfolio.backends.base import Backend
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.result import SOLVED, STATUS_ERROR, STATUS_FEASIBLE, SolveOutcome

__all__ = ["PulpBackend", "LP_STATUS", "LP_SOLUTION"]

# PuLP's codes (pulp.constants; stable since PuLP 1.x), named here so that ``import cxopt``
# need not import PuLP; tests check them against PuLP itself
LP_STATUS = {"NotSolved": 0, "Optimal": 1, "Infeasible": -1, "Unbounded": -2, "Undefined": -3}
LP_SOLUTION = {"NoSolutionFound": 0, "Optimal": 1, "IntegerFeasible": 2, "Infeasible": -1, "Unbounded": -2}


class PulpBackend(Backend):
    """A solver reached through PuLP; subclasses name the solver and list its status pairs."""

    STATUS_MAP: ClassVar[dict[tuple[int, int], str]]
    OTHER: ClassVar[str]  # the backend to suggest when this one fails

    def command(self, time_limit: float | None, warm_start: bool = False):
        """The PuLP solver object (silent: solver chatter would corrupt ``--json`` output)."""
        raise NotImplementedError

    def available(self) -> bool:
        return bool(self.command(None).available())

    def status_of(self, prob) -> str:
        """cxopt's word for the solved PuLP problem's ``(status, sol_status)``."""
        status, sol_status = getattr(prob, "status", None), getattr(prob, "sol_status", None)
        word = self.STATUS_MAP.get((status, sol_status))
        if word is not None:
            return word
        if status == LP_STATUS["Optimal"] and sol_status not in LP_SOLUTION.values():
            return STATUS_FEASIBLE  # claimed optimal with no (or an unknown) solution status: not a proof
        return STATUS_ERROR  # anything else unlisted, e.g. "Optimal" with "no solution found": contradictory

    def solve_model(self, prob, command) -> str:
        """Solve a PuLP problem with ``command``; cxopt's word for how it ended."""
        import pulp

        try:
            prob.solve(command)
        except (pulp.PulpSolverError, RuntimeError) as exc:
            raise SolverError(f"the {self.name} solver failed: {exc}; try another solver "
                              f"(solver={self.OTHER!r})") from None
        return self.status_of(prob)

    def native_status(self, prob) -> str:
        import pulp

        status, sol_status = getattr(prob, "status", None), getattr(prob, "sol_status", None)
        return f"{pulp.LpStatus.get(status, status)}, {pulp.LpSolution.get(sol_status, sol_status)}"

    def solve_problem(self, problem: PortfolioProblem, time_limit: float | None) -> SolveOutcome:
        """Solve the problem's PuLP model, kept alive between solves: cuts and budget moves are written
        into it, and the solve starts from :meth:`PortfolioProblem.warm_start` (PuLP's ``warmStart``)."""
        model = problem.matrix_model()
        session = problem.sessions.get(self.name)
        if session is None:
            session = problem.sessions[self.name] = PulpSession(model)
        session.sync(model)
        start = problem.warm_start()
        session.set_start(start)
        command = self.command(time_limit, start is not None)
        t0 = time.perf_counter()
        word = self.solve_model(session.prob, command)
        seconds = time.perf_counter() - t0
        native = self.native_status(session.prob)
        if word not in SOLVED:
            return SolveOutcome(word, seconds=seconds, native=native)
        selected = session.selection()
        if selected is None:  # a status that claims a solution, and no values
            return SolveOutcome(STATUS_ERROR, seconds=seconds, native=native + ", no values")
        problem.incumbent = selected
        return SolveOutcome(word, selected, problem.estimate(selected), seconds=seconds, native=native)


class PulpSession:
    """A PuLP problem kept in step with a :class:`~cxopt.portfolio.matrix.MatrixModel`."""

    def __init__(self, model):
        from cxopt.portfolio.backends.scaling import Scaling

        self.scaling = Scaling(model)  # well-scaled units (backends/scaling.py)
        self.prob, self.cols = self.scaling.model(model).to_pulp()
        self.x = self.cols[: model.n_x]
        self.names = [r.name for r in model.rows]

    def sync(self, model) -> None:
        from cxopt.portfolio.matrix import append_pulp_row

        while len(self.names) > len(model.rows):  # cuts dropped (a new walk)
            del self.prob.constraints[self.names.pop()]
        for r in self.scaling.rows(model, len(self.names)):
            append_pulp_row(self.prob, self.cols, r)
            self.names.append(r.name)
        for r in model.budget_rows.values():
            self.prob.constraints[model.rows[r].name].constant = -self.scaling.budget_upper(model, r)

    def set_start(self, selected: tuple[int, ...] | None) -> None:
        if selected is None:
            return
        chosen = set(selected)
        for k, v in enumerate(self.x):
            v.setInitialValue(1.0 if k in chosen else 0.0)

    def selection(self) -> tuple[int, ...] | None:
        """The chosen initiatives (values come back as floats: > 0.5), or None without values."""
        values = [v.value() for v in self.x]
        if any(v is None for v in values):
            return None
        return tuple(k for k, v in enumerate(values) if v > 0.5)
