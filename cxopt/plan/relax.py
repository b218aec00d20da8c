"""Relaxing limits one step, alone or many at once, and the group test behind what binds.

Each limit of :class:`~cxopt.portfolio.constraints.Constraints` is a separate condition on a
portfolio (a budget period's spend, the focus limit, one owner's count, one exclusion, one
prerequisite, one must, one forbid). A :class:`Step` relaxes one of them one step; :func:`relax`
applies any set of steps at once. Relaxing a set G of limits gives a feasible region that holds
the region of every single one of them, so the best portfolio with all of G relaxed bounds the
gain of each member: when it gains nothing over the plan, no member can (group testing). A
portfolio the relaxed-G search returns breaks some limits of G as they were (``needed``): when it
breaks exactly one, that limit gains and the rest of G is tested again without it; when it
breaks several, G is split so that they fall apart. Limits that gain are then re-solved on
their own, exactly as a per-limit study would, so their reported gain and portfolio are that
study's: a group test only decides which limits need a re-solve, and only its "nothing gains"
answer is ever reported.

A group test (:meth:`GroupStudy.probe`) is the no-good walk with its estimate-vs-exact stopping
rule (DESIGN.md section 2), started from the plan's own walk's gaps and stopped at the first
portfolio that beats the plan. Where the program is exact (no simulation behind the value
tables, or an exhaustive backend) and every solve is proven, its "nothing gains" is a proof; on
a simulation's pairwise surrogate it is the walk's heuristic, on the larger region.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

import numpy as np

from cxopt.errors import InfeasibleError, SolverError
from cxopt.portfolio.backends.base import Backend
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.result import SOLVED, STATUS_INFEASIBLE, STATUS_OPTIMAL, Candidate
from cxopt.portfolio.reduction import REDUCE_ABOVE, candidate_bounds, reduced_problem
from cxopt.portfolio.search import no_good_walk

__all__ = ["BUDGET_STEP", "Step", "limit_steps", "relax", "needed", "GroupStudy"]

BUDGET_STEP = 0.10  # the next budget step: +10% of that period's limit
_FIRST = 3  # a probe's first list on a long one: the (3 x focus limit) most promising candidates, at least 15


@dataclass(frozen=True)
class Step:
    """One limit relaxed one step: ``kind`` is budget (``key`` the period's index), max_initiatives
    (``key`` None), owner (the owner's name), exclusive or requires (the rule's index), must or forbid
    (the initiative's index)."""

    kind: str
    key: object = None


def limit_steps(cons: Constraints, selected: Iterable[int]) -> list[tuple[str, float, Step | None]]:
    """``(limit, slack, step)`` for every limit, in the study's order; ``step`` is None where relaxing
    cannot change anything (the focus limit at every candidate, an owner leading no more candidates
    than the capacity)."""
    s = set(int(k) for k in selected)
    K = len(cons.ids)
    out: list[tuple[str, float, Step | None]] = []
    if cons.budget is not None:
        spend = cons.spend(s)
        for i, p in enumerate(cons.periods):
            out.append((f"budget:{p}", float(cons.budget[i] - spend[i]), Step("budget", i)))
    out.append(("max_initiatives", float(cons.max_initiatives - len(s)),
                Step("max_initiatives") if cons.max_initiatives < K else None))
    for owner in dict.fromkeys(cons.owners):
        theirs = sum(1 for k in range(K) if cons.owners[k] == owner)
        led = sum(1 for k in s if cons.owners[k] == owner)
        out.append((f"owner:{owner}", float(cons.capacity_of(owner) - led),
                    Step("owner", owner) if theirs > cons.capacity_of(owner) else None))
    for i, group in enumerate(cons.exclusive):
        chosen = len(s & set(group))
        out.append(("exclusive:" + ",".join(cons.ids[k] for k in group), float(1 - chosen),
                    Step("exclusive", i)))
    for i, (a, b) in enumerate(cons.requires):
        out.append((f"requires:{cons.ids[a]}->{cons.ids[b]}", float((b in s) - (a in s)),
                    Step("requires", i)))
    for k in sorted(cons.must):
        out.append((f"must:{cons.ids[k]}", 0.0, Step("must", k)))
    for k in sorted(cons.forbid):
        out.append((f"forbid:{cons.ids[k]}", 0.0, Step("forbid", k)))
    return out


def relax(cons: Constraints, steps: Iterable[Step]) -> Constraints:
    """The rules with every step applied at once (only the fields a step touches are replaced, so one
    step gives the same rules as relaxing that limit alone)."""
    by_kind: dict[str, list] = {}
    for st in steps:
        by_kind.setdefault(st.kind, []).append(st.key)
    changes: dict[str, object] = {}
    if "budget" in by_kind:
        limit = cons.budget.copy()
        for i in by_kind["budget"]:
            limit[i] *= 1.0 + BUDGET_STEP
        changes["budget"] = limit
    if "max_initiatives" in by_kind:
        changes["max_initiatives"] = cons.max_initiatives + 1
    if "owner" in by_kind:
        changes["extra_slot"] = cons.extra_slot | frozenset(by_kind["owner"])
    for kind in ("exclusive", "requires"):
        if kind in by_kind:
            drop = set(by_kind[kind])
            changes[kind] = tuple(r for j, r in enumerate(getattr(cons, kind)) if j not in drop)
    for kind in ("must", "forbid"):
        if kind in by_kind:
            changes[kind] = getattr(cons, kind) - frozenset(by_kind[kind])
    return replace(cons, **changes)


def needed(cons: Constraints, steps: Sequence[Step], selected: Sequence[int]) -> list[int]:
    """Which of ``steps`` a portfolio needs (the limits it breaks as they are), as indices into
    ``steps``; the portfolio must obey the rules with all of ``steps`` applied. Every limit is its own
    condition, so the portfolio obeys the rules with one step applied exactly when it needs no other."""
    return [i for i in range(len(steps))
            if not relax(cons, [s for j, s in enumerate(steps) if j != i]).is_feasible(selected)]


class GroupStudy:
    """The best portfolio with each of a list of limits relaxed one step, by group tests.

    Parameters
    ----------
    problem : PortfolioProblem
        The plan's problem (its value tables are shared by every re-solve).
    backend : Backend
    here : float
        The plan's value, in the units of ``value_of``.
    value_of : callable
        A portfolio's exact value (the number the gain is measured in).
    top, time_limit
        The no-good walk's M and seconds per solve (as a per-limit re-solve).
    seen : sequence of Candidate
        The plan's own walk's candidates (estimate and exact value in the problem's units): a group
        test starts its stopping rule from their estimate-vs-exact gaps and does not value them again.
    plan : tuple of int, optional
        The plan's portfolio (worth ``here``: never a gain).

    ``searches`` counts the searches done (group tests and single limits), ``solves`` the solver calls.
    """

    def __init__(self, problem: PortfolioProblem, backend: Backend, here: float,
                 value_of: Callable[[tuple[int, ...]], float], *, top: int = 3,
                 time_limit: float | None = 10.0, seen: Sequence[Candidate] = (),
                 plan: Sequence[int] | None = None):
        self.problem, self.backend, self.here, self.value_of = problem, backend, here, value_of
        self.top, self.time_limit = top, time_limit
        self.gaps = [abs(float(c.estimate) - float(c.exact)) for c in seen]
        # exact values in the problem's units: the same under any rules (one set of tables)
        self.known = {tuple(c.selected): float(c.exact) for c in seen}
        self.plan = None if plan is None else tuple(sorted(int(k) for k in plan))
        # a bound is a proof only where the values searched are the exact ones
        self.exact = backend.EXACT or problem.program_is_exact
        self.searches = self.solves = 0

    def best_under(self, rules: Constraints) -> tuple[float, tuple[int, ...] | None]:
        """``(value, portfolio)`` of the per-limit study's re-solve under ``rules``
        (:func:`~cxopt.portfolio.search.solve_problem`'s search, valued by ``value_of``); portfolio None
        when no portfolio obeys the rules."""
        self.searches += 1
        problem = self.problem.with_constraints(rules)
        if self.backend.EXACT:
            self.solves += 1
            outcome = self.backend.solve(problem)
            if outcome.status == STATUS_INFEASIBLE:
                return float("-inf"), None
            if outcome.status not in SOLVED:
                raise SolverError(f"{self.backend.name} returned no solution (status {outcome.native}); "
                                  "try another solver")
            sel = tuple(outcome.selected)
        else:
            try:
                best, _, _, _, seconds = no_good_walk(problem, self.backend, self.top, self.time_limit)
            except InfeasibleError:  # cannot happen (the plan stays feasible); kept for safety
                return float("-inf"), None
            self.solves += len(seconds)
            sel = tuple(best.selected)
        return self.value_of(sel), sel

    def single(self, rules: Constraints) -> tuple[float, tuple[int, ...] | None]:
        """The per-limit study's answer for one limit: the best value found (not below the plan's) and
        its portfolio (None: the plan's)."""
        value, sel = self.best_under(rules)
        return (value, sel) if value > self.here else (self.here, None)

    def beats_plan(self, sel: tuple[int, ...]) -> bool:
        return sel != self.plan and self.value_of(sel) > self.here

    def probe(self, rules: Constraints) -> tuple[tuple[int, ...] | None, bool]:
        """Does any portfolio the relaxed ``rules`` allow beat the plan? ``(portfolio, True)``: this one
        does, or clearly should (it only routes the study: a limit is then re-solved on its own);
        ``(None, True)``: none does; ``(None, False)``: not settled (a bound was not proven).

        The no-good walk's rule, stopped at the first portfolio that beats the plan: portfolios come in
        the program's order, each valued exactly, until the next one's estimate, widened by twice the
        largest estimate-vs-exact gap seen (the plan's walk's first), is clearly below the plan's value.
        Where the program is exact and every solve proven, that is a bound; on a simulation's pairwise
        surrogate it is the walk's heuristic (at least ``top`` gaps seen before it stops anything). On a
        long list the walk runs on the candidates whose bound (:func:`candidate_bounds`) the rule does
        not rule out: a portfolio holding another one would be stopped by the rule anyway.
        """
        self.searches += 1
        problem = self.problem.with_constraints(rules)
        gaps = list(self.gaps)
        bounds = None if self.backend.EXACT else _bounds(problem)  # the exhaustive one values exactly
        cons = problem.constraints
        keep = None
        if bounds is not None:  # first the most promising candidates (as the walk's reduction does)
            keep = _kept(cons, bounds, self.here, max(gaps, default=0.0))
            first = max(_FIRST * cons.max_initiatives, 15)
            if len(keep) > first:
                promising = sorted(keep, key=lambda k: (-bounds[k], k))[:first]
                keep = _closed(cons, set(promising) | set(cons.must))
        while True:
            sel, settled, capped = self._probe_on(problem, keep, gaps)
            if capped and keep is not None:  # the rule never stopped the walk: the whole list decides
                keep = None
                continue
            if sel is not None or not settled or keep is None:
                return sel, settled  # a portfolio found on fewer candidates is one of the whole list
            # the certificate, with the gaps the walk has seen since: no candidate left out can be in a
            # portfolio the rule would not stop
            wider = _kept(cons, bounds, self.here, max(gaps, default=0.0))
            if set(wider) <= set(keep):
                return sel, settled
            keep = sorted(set(wider) | set(keep))

    def _probe_on(self, problem: PortfolioProblem, keep: list[int] | None, gaps: list[float]):
        """:meth:`probe`'s walk on the candidates ``keep`` (None: all): ``(portfolio, settled, capped)``,
        capped when the walk reached its cap of solves; ``gaps`` grows with the gaps seen."""
        sub = problem if keep is None else reduced_problem(problem, keep)
        back = (lambda s: tuple(s)) if keep is None else (lambda s: tuple(keep[i] for i in s))
        need = 1 if problem.program_is_exact else self.top
        proven = True
        for _ in range(5 * self.top):
            self.solves += 1
            outcome = self.backend.solve(sub, time_limit=self.time_limit)
            if outcome.status == STATUS_INFEASIBLE:  # every portfolio seen: none beats the plan
                return None, proven, False
            if outcome.status not in SOLVED:
                return None, False, False
            proven = proven and outcome.status == STATUS_OPTIMAL
            sel, est = back(outcome.selected), float(outcome.value)
            if self.backend.EXACT:  # the best there is, valued exactly
                return (sel, True, False) if self.beats_plan(sel) else (None, proven, False)
            widen = 2 * max(gaps, default=0.0) + 1e-9 * abs(est)
            if len(gaps) >= need and est + widen < self.here:
                return None, proven or not self.exact, False
            if sel not in self.known and len(gaps) >= need and est - widen > self.here:
                # clearly better by the program: worth a re-solve of the limit it needs
                return sel, True, False
            if sel not in self.known:
                self.known[sel] = problem.exact_values([sel])[0]
            gaps.append(abs(est - self.known[sel]))
            if sel != self.plan and self.known[sel] > self.here and self.beats_plan(sel):
                return sel, True, False
            sub.exclude(outcome.selected)
        return None, not self.exact, True  # the walk's cap: its best does not beat the plan

    def run(self, cons: Constraints, steps: Sequence[Step]) -> list[tuple[float, tuple[int, ...] | None]]:
        """``(value, portfolio)`` per step, as :meth:`single` on each would give (see the module's note)."""
        out: dict[int, tuple[float, tuple[int, ...] | None]] = {}
        queue: list[list[int]] = [list(range(len(steps)))] if steps else []
        while queue:
            group = queue.pop(0)
            if len(group) == 1 and not self.exact:  # the per-limit study's own re-solve
                out[group[0]] = self.single(relax(cons, [steps[group[0]]]))
                continue
            members = [steps[i] for i in group]
            sel, settled = self.probe(relax(cons, members))
            if sel is None and settled:
                for i in group:  # nothing gains with all of them relaxed: none gains alone
                    out[i] = (self.here, None)
                continue
            need = [] if sel is None else [group[j] for j in needed(cons, members, sel)]
            if len(group) == 1:  # exact program: a bound cheaper than the re-solve did not clear it
                out[group[0]] = self.single(relax(cons, members))
            elif len(need) == 1:  # exactly one limit lets the better portfolio in: it binds
                out[need[0]] = self.single(relax(cons, [steps[need[0]]]))
                queue.insert(0, [i for i in group if i != need[0]])
            elif len(need) > 1:  # several at once: test them apart
                queue[:0] = [[i for i in group if i not in need[1:]], need[1:]]
            else:  # not settled, or a better portfolio under the rules as they are: halve
                half = len(group) // 2
                queue[:0] = [group[:half], group[half:]]
        return [out[i] for i in range(len(steps))]


def _bounds(problem: PortfolioProblem) -> np.ndarray | None:
    """Per candidate, a bound on the estimate (:meth:`PortfolioProblem.estimate`, what the walk's rule
    reads) of any portfolio holding it, on a long list (None: the probe walks on every candidate). With a
    risk objective the estimate carries the per-trial interactions, so the bound does too."""
    cons = problem.constraints
    if len(cons.ids) <= REDUCE_ABOVE:
        return None
    # the limits with the allowance of Constraints.over_budget (a portfolio it accepts is bounded)
    budget = None if cons.budget is None else (cons.costs, cons.budget_cap())
    return candidate_bounds(problem.tables, cons.max_initiatives, problem.objective, per_trial_pairs=True,
                            budget=budget)


def _kept(cons: Constraints, bounds: np.ndarray, here: float, gap: float) -> list[int]:
    """The candidates a portfolio the walk's rule does not stop may hold (every must-include, and what a
    kept one requires), sorted."""
    K = len(cons.ids)
    return _closed(cons, {k for k in range(K) if k not in cons.forbid and not cons.over_budget([k]).any()
                          and bounds[k] + 2 * gap + 1e-9 * abs(bounds[k]) >= here} | set(cons.must))


def _closed(cons: Constraints, keep: set[int]) -> list[int]:
    """``keep`` with what its members require (prerequisites of prerequisites too), sorted."""
    while True:
        extra = {b for a, b in cons.requires if a in keep} - keep
        if not extra:
            return sorted(keep)
        keep |= extra
