"""The one small interface every solver backend implements.

A backend has a ``name``, says whether it can run here (:meth:`Backend.available`,
:meth:`Backend.import_solver`), and solves a
:class:`~cxopt.portfolio.model.PortfolioProblem` into a
:class:`~cxopt.portfolio.result.SolveOutcome` in cxopt's status words. Each adapter maps its
solver's own codes through its ``STATUS_MAP`` (anything unlisted is ``error``); the
solver's codes never leave the adapter. :meth:`Backend.solve` re-checks every answer
against every rule and cut before anyone trusts it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Mapping

from cxopt.errors import SolverError
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.result import SOLVED, SolveOutcome

__all__ = ["Backend"]


class Backend(ABC):
    """A way to solve a :class:`PortfolioProblem`."""

    name: ClassVar[str]
    # the solver's own status codes -> cxopt's status words; anything unlisted maps to "error"
    STATUS_MAP: ClassVar[Mapping]
    # True when the outcome's value is the exact (simulated) objective, not the program's
    # pairwise estimate: one solve is the answer and no no-good walk is needed
    EXACT: ClassVar[bool] = False
    UNAVAILABLE: ClassVar[str] = ""  # what to install or use instead, when not available
    # chosen by ``solver="auto"``: the walk may rank a program small enough to enumerate instead
    # (cxopt.portfolio.backends.ranked: the same order, proven); an explicit solver always solves
    auto: bool = False

    def available(self) -> bool:
        """Can this backend run here?"""
        return True

    def import_solver(self) -> None:
        """Raise :class:`SolverError` (saying what to install or use instead) when unavailable."""
        if not self.available():
            raise SolverError(self.UNAVAILABLE or f"the {self.name} solver is not available here")

    @abstractmethod
    def solve_problem(self, problem: PortfolioProblem, time_limit: float | None) -> SolveOutcome:
        """One solve, mapped to cxopt's words (the adapter's job)."""

    def solve(self, problem: PortfolioProblem, *, time_limit: float | None = None) -> SolveOutcome:
        """One solve; a portfolio that breaks a rule or a cut is a :class:`SolverError`, never an answer."""
        outcome = self.solve_problem(problem, time_limit)
        if outcome.status in SOLVED:
            problems = problem.constraints.violations(outcome.selected)
            if tuple(sorted(outcome.selected)) in problem.excluded:
                problems.append("a portfolio already excluded by a no-good cut")
            if problems:
                raise SolverError(f"{self.name} returned a portfolio that breaks the rules ({'; '.join(problems)}); "
                                  "try another solver")
        return outcome

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
