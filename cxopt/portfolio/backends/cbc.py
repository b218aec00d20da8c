"""CBC through PuLP (``pulp.PULP_CBC_CMD``, the binary PuLP 3.x bundles): the fallback.

Its ``STATUS_MAP`` lists the ``(status, sol_status)`` pairs PuLP 3.3's CBC adapter sets
(``pulp/apis/coin_api.py``, ``get_status``) from the first line of CBC's solution file.
"""

from __future__ import annotations

from cxopt.portfolio.backends.pulp_base import LP_SOLUTION as SOL
from cxopt.portfolio.backends.pulp_base import LP_STATUS as ST
from cxopt.portfolio.backends.pulp_base import PulpBackend
from cxopt.portfolio.result import STATUS_ERROR, STATUS_FEASIBLE, STATUS_INFEASIBLE, STATUS_OPTIMAL

__all__ = ["CbcBackend"]


class CbcBackend(PulpBackend):
    name = "cbc"
    OTHER = "highs"
    UNAVAILABLE = "PuLP's bundled CBC is not available on this platform; use solver='highs'"
    STATUS_MAP = {
        (ST["Optimal"], SOL["Optimal"]): STATUS_OPTIMAL,  # "Optimal"
        (ST["Optimal"], SOL["IntegerFeasible"]): STATUS_FEASIBLE,  # "Stopped on time - objective value ..."
        (ST["Infeasible"], SOL["Infeasible"]): STATUS_INFEASIBLE,  # "Infeasible"
        (ST["Infeasible"], SOL["NoSolutionFound"]): STATUS_INFEASIBLE,  # "Integer infeasible"
        (ST["Unbounded"], SOL["Unbounded"]): STATUS_ERROR,
        (ST["NotSolved"], SOL["NoSolutionFound"]): STATUS_ERROR,  # "Stopped" without a solution
        (ST["Undefined"], SOL["NoSolutionFound"]): STATUS_ERROR,  # an unreadable first line
    }

    def command(self, time_limit: float | None, warm_start: bool = False):
        import pulp

        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, warmStart=warm_start)
