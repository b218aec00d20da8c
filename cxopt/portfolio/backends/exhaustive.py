"""Every feasible portfolio, evaluated exactly: the reference for small instances.

It maximises the exact objective (the simulation's own evaluation, every interaction in),
not the program's pairwise estimate, so one solve is the answer (``EXACT``). Its native
outcomes are its own: found a best portfolio, or none obeys the rules.
"""

from __future__ import annotations

import itertools
import math
import time

from cxopt.errors import ArgumentError
from cxopt.portfolio.backends.base import Backend
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.result import STATUS_INFEASIBLE, STATUS_OPTIMAL, SolveOutcome

__all__ = ["ExhaustiveBackend", "feasible_portfolios", "EXHAUSTIVE_LIMIT"]

EXHAUSTIVE_LIMIT = 250_000
BATCH = 2048  # portfolios evaluated per call (they share the per-trial work)


def feasible_portfolios(cons: Constraints) -> list[tuple[int, ...]]:
    """Every feasible portfolio (for small instances), the empty one included when allowed."""
    K = len(cons.ids)
    out = []
    free = [k for k in range(K) if k not in cons.forbid]
    for size in range(0, min(cons.max_initiatives, len(free)) + 1):
        for combo in itertools.combinations(free, size):
            if cons.is_feasible(combo):
                out.append(combo)
        if len(out) > EXHAUSTIVE_LIMIT:
            raise ArgumentError("solver", f"more than {EXHAUSTIVE_LIMIT:,} feasible portfolios: too many to "
                                          "enumerate; use solver='highs' or 'cbc'")
    return out


class ExhaustiveBackend(Backend):
    name = "exhaustive"
    EXACT = True
    STATUS_MAP = {"best_found": STATUS_OPTIMAL, "none_feasible": STATUS_INFEASIBLE}

    def solve_problem(self, problem: PortfolioProblem, time_limit: float | None) -> SolveOutcome:
        """Enumerate and evaluate everything (``time_limit`` does not apply: the work is bounded)."""
        t0 = time.perf_counter()
        excluded = set(problem.excluded)
        portfolios = [p for p in feasible_portfolios(problem.constraints) if p not in excluded]
        if not portfolios:
            return SolveOutcome(self.STATUS_MAP["none_feasible"], seconds=time.perf_counter() - t0,
                                native="none_feasible")
        best_i, best_v = -1, -math.inf
        for start in range(0, len(portfolios), BATCH):
            part = portfolios[start: start + BATCH]
            for i, v in enumerate(problem.exact_values(part)):
                # ties: the smaller (cheaper to run) portfolio
                if v > best_v or (v == best_v and len(part[i]) < len(portfolios[best_i])):
                    best_i, best_v = start + i, v
        return SolveOutcome(self.STATUS_MAP["best_found"], portfolios[best_i], best_v,
                            seconds=time.perf_counter() - t0, evaluated=len(portfolios), native="best_found")
