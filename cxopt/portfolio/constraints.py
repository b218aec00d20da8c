"""The rules a portfolio must obey (DESIGN.md section 2), on initiative indices: the focus
limit, budgets (total or per period), owner capacity, exclusions, prerequisites, must and
forbid lists; and the check every solver's answer goes through (:meth:`Constraints.violations`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from cxopt.errors import ArgumentError, Problem, ScenarioError

__all__ = ["Constraints", "FAMILIES", "limit_problems"]

# the families of rules, in the order the infeasibility diagnosis drops them one at a time
FAMILIES = ("budget", "max_initiatives", "owner_capacity", "exclusive", "requires", "must", "forbid")


def limit_problems(budget: float | None, max_initiatives: int | None, owner_capacity: int | None) -> list[Problem]:
    """What is wrong with overrides of the budget, the focus limit and the owner capacity (named by
    their parameters); empty when every one is absent or valid."""
    problems = []
    if budget is not None and not budget >= 0:
        problems.append(Problem("", "budget", f"must be >= 0, got {budget:g}"))
    for name, value in (("max_initiatives", max_initiatives), ("owner_capacity", owner_capacity)):
        if value is not None and value < 1:
            problems.append(Problem("", name, f"must be at least 1, got {value}"))
    return problems


@dataclass(frozen=True)
class Constraints:
    """Every rule a portfolio must obey, on initiative indices."""

    ids: tuple[str, ...]
    costs: np.ndarray  # (K, n_periods)
    periods: tuple[str, ...]
    budget: np.ndarray | None  # (n_periods,) or None: no budget limit
    max_initiatives: int
    owners: tuple[str, ...]
    owner_capacity: int
    exclusive: tuple[tuple[int, ...], ...]
    requires: tuple[tuple[int, int], ...]  # (a, b): a requires b
    must: frozenset[int]
    forbid: frozenset[int]
    extra_slot: frozenset[str] = frozenset()  # owners who may lead one more than owner_capacity

    def capacity_of(self, owner: str) -> int:
        """How many initiatives ``owner`` may lead (one more for an owner in ``extra_slot``)."""
        return self.owner_capacity + (owner in self.extra_slot)

    @classmethod
    def from_scenario(cls, sc, *, budget: float | None = None, max_initiatives: int | None = None,
                      owner_capacity: int | None = None) -> "Constraints":
        """The scenario's rules; ``budget``, ``max_initiatives`` and ``owner_capacity`` override its own."""
        problems = limit_problems(budget, max_initiatives, owner_capacity)
        if problems:
            raise ArgumentError(problems)
        ids = tuple(sc.initiative_ids)
        index = {x: i for i, x in enumerate(ids)}
        total = sc.budget.total if budget is None else float(budget)
        if isinstance(total, dict):
            periods = tuple(total)
            costs = np.zeros((len(ids), len(periods)))
            for k, init in enumerate(sc.initiatives):
                if not isinstance(init.cost, dict):
                    raise ScenarioError(Problem(sc.source, f"initiatives[{k}].cost",
                                                "the budget is per period: give this cost per period too, "
                                                f"e.g. {{ {periods[0]} = {init.cost:g} }}"))
                for p, amount in init.cost.items():
                    costs[k, periods.index(p)] = amount
            limit = np.array([total[p] for p in periods])
        else:
            periods = ("total",)
            costs = np.array([[init.total_cost()] for init in sc.initiatives]).reshape(len(ids), 1)
            limit = None if total is None else np.array([float(total)])
        cons = sc.constraints
        requires = []
        for a, bs in cons.requires.items():
            for b in [bs] if isinstance(bs, str) else bs:
                requires.append((index[a], index[b]))
        return cls(
            ids=ids, costs=costs, periods=periods, budget=limit,
            max_initiatives=int(max_initiatives or sc.budget.max_initiatives),
            owners=tuple(k.owner for k in sc.initiatives),
            owner_capacity=int(owner_capacity or sc.budget.owner_capacity),
            exclusive=tuple(tuple(index[x] for x in g) for g in cons.exclusive),
            requires=tuple(requires),
            must=frozenset(index[x] for x in cons.must),
            forbid=frozenset(index[x] for x in cons.forbid),
        )

    def with_budget(self, budget: float) -> "Constraints":
        """The same rules under another budget (per period: the periods' limits scaled to it)."""
        if len(self.periods) > 1:
            scale = budget / float(self.budget.sum()) if self.budget is not None and self.budget.sum() > 0 else None
            limit = self.budget * scale if scale is not None else np.full(len(self.periods), budget)
            return replace(self, budget=limit)
        return replace(self, budget=np.array([float(budget)]))

    def without(self, family: str) -> "Constraints":
        """The same rules with one family (one of :data:`FAMILIES`) lifted."""
        K = len(self.ids)
        lifted = {"budget": {"budget": None}, "max_initiatives": {"max_initiatives": K},
                  "owner_capacity": {"owner_capacity": K}, "exclusive": {"exclusive": ()},
                  "requires": {"requires": ()}, "must": {"must": frozenset()}, "forbid": {"forbid": frozenset()}}
        return replace(self, **lifted[family])

    def spend(self, selected: Sequence[int]) -> np.ndarray:
        """What a selection costs in each budget period."""
        s = sorted(set(int(k) for k in selected))
        return self.costs[s].sum(axis=0) if s else np.zeros(len(self.periods))

    def over_budget(self, selected: Sequence[int]) -> np.ndarray:
        """Per budget period: does the selection spend more than the limit? (All False without a budget.)

        The tolerance is in the costs' own units (a solver's 1e-7 on its scaled rows, with room): an
        absolute one would be a whole initiative when money is counted in millionths. Every check of
        a budget (feasibility, the infeasibility diagnosis, what binds) uses this one.
        """
        if self.budget is None:
            return np.zeros(len(self.periods), dtype=bool)
        return self.spend(selected) > self.budget_cap()

    def budget_cap(self) -> np.ndarray | None:
        """Per budget period, the most a portfolio may spend: the limit with :meth:`over_budget`'s tolerance
        (every vectorised budget check uses it too); None without a budget."""
        if self.budget is None:
            return None
        return self.budget * (1 + 1e-9) + 1e-6 * np.abs(self.costs).max(axis=0, initial=0.0)

    def violations(self, selected: Sequence[int]) -> list[str]:
        """Every rule the selection breaks (empty: feasible)."""
        s = set(int(k) for k in selected)
        out = []
        if len(s) > self.max_initiatives:
            out.append(f"{len(s)} initiatives exceed the maximum of {self.max_initiatives}")
        if self.budget is not None:
            spend = self.spend(s)
            for p in np.flatnonzero(self.over_budget(s)):
                out.append(f"budget {self.periods[p]}: {spend[p]:,.0f} exceeds {self.budget[p]:,.0f}")
        counts: dict[str, int] = {}
        for k in s:
            counts[self.owners[k]] = counts.get(self.owners[k], 0) + 1
        for owner, n in counts.items():
            if n > self.capacity_of(owner):
                out.append(f"owner {owner!r} would lead {n} initiatives (capacity {self.capacity_of(owner)})")
        for g in self.exclusive:
            if len(s & set(g)) > 1:
                out.append("exclusive: " + ", ".join(self.ids[k] for k in sorted(s & set(g))))
        for a, b in self.requires:
            if a in s and b not in s:
                out.append(f"{self.ids[a]} requires {self.ids[b]}")
        for k in self.must - s:
            out.append(f"must include {self.ids[k]}")
        for k in self.forbid & s:
            out.append(f"{self.ids[k]} is forbidden")
        return out

    def is_feasible(self, selected: Sequence[int]) -> bool:
        return not self.violations(selected)

    def total_cost(self, selected: Sequence[int]) -> float:
        return float(self.costs[list(selected)].sum()) if len(selected) else 0.0
