"""Why no portfolio fits: name the rules that conflict (PuLP does not say). The obvious
clashes first (must-include lists against the focus limit, the budget, exclusions,
forbidden prerequisites and owner capacity), then, failing those, each family of rules
dropped in turn and the rest re-solved."""

from __future__ import annotations

import numpy as np

from cxopt.portfolio.backends.base import Backend
from cxopt.portfolio.constraints import FAMILIES, Constraints
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.result import SOLVED

__all__ = ["diagnose", "obvious_conflicts", "DIAGNOSIS_TIME_LIMIT"]

DIAGNOSIS_TIME_LIMIT = 30.0  # seconds per re-solve with one family dropped


def diagnose(cons: Constraints, backend: Backend) -> list[str]:
    """The conflicts, in words that name initiatives, owners and budgets."""
    out = obvious_conflicts(cons)
    if out:
        return out
    for family in FAMILIES:
        outcome = backend.solve(PortfolioProblem.feasibility(cons.without(family)), time_limit=DIAGNOSIS_TIME_LIMIT)
        if outcome.status in SOLVED:
            out.append(f"the {family.replace('_', ' ')} constraints conflict with the others "
                       "(dropping them makes a portfolio possible)")
    return out or ["the constraints together admit no portfolio"]


def obvious_conflicts(cons: Constraints) -> list[str]:
    """Clashes visible without a solver, all of them involving the must-include list."""
    ids = cons.ids
    out = []
    must = sorted(cons.must)
    if len(must) > cons.max_initiatives:
        out.append(f"must-include lists {len(must)} initiatives ({', '.join(ids[k] for k in must)}) but at most "
                   f"{cons.max_initiatives} may be chosen")
    if must:
        spend = cons.spend(must)
        for p in np.flatnonzero(cons.over_budget(must)):
            out.append(f"must-include initiatives ({', '.join(ids[k] for k in must)}) cost {spend[p]:,.0f}, "
                       f"over the budget {cons.periods[p]} of {cons.budget[p]:,.0f}")
    for g in cons.exclusive:
        both = [k for k in g if k in cons.must]
        if len(both) > 1:
            out.append(f"must-include names {', '.join(ids[k] for k in both)}, which are mutually exclusive")
    for k in must:
        for b in sorted(_prerequisites(cons, k) & cons.forbid):
            out.append(f"{ids[k]} must be included but requires {ids[b]}, which is forbidden")
    counts: dict[str, list[int]] = {}
    for k in must:
        counts.setdefault(cons.owners[k], []).append(k)
    for owner, ks in counts.items():
        if len(ks) > cons.capacity_of(owner):
            out.append(f"owner {owner!r} would lead {len(ks)} must-include initiatives "
                       f"({', '.join(ids[k] for k in ks)}; capacity {cons.owner_capacity})")
    return out


def _prerequisites(cons: Constraints, k: int) -> set[int]:
    """Every initiative ``k`` requires, followed transitively."""
    needs: dict[int, set[int]] = {}
    for a, b in cons.requires:
        needs.setdefault(a, set()).add(b)
    seen, stack = set(), [k]
    while stack:
        for b in needs.get(stack.pop(), ()):
            if b not in seen:
                seen.add(b)
                stack.append(b)
    return seen
