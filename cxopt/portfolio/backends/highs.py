"""HiGHS through PuLP (``pulp.HiGHS``, the highspy API): the default where highspy is installed.

Its ``STATUS_MAP`` lists the ``(status, sol_status)`` pairs PuLP 3.3's HiGHS adapter sets
(``pulp/apis/highs_api.py``, ``findSolutionValues``) from HiGHS's model status.
"""

from __future__ import annotations

from cxopt.portfolio.backends.pulp_base import LP_SOLUTION as SOL
from cxopt.portfolio.backends.pulp_base import LP_STATUS as ST
from cxopt.portfolio.backends.pulp_base import PulpBackend
from cxopt.portfolio.result import STATUS_ERROR, STATUS_FEASIBLE, STATUS_INFEASIBLE, STATUS_OPTIMAL

__all__ = ["HighsBackend"]


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

    def command(self, time_limit: float | None):
        import pulp

        return pulp.HiGHS(msg=False, timeLimit=time_limit)
