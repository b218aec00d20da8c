"""The program in well-scaled units, for the solvers: money in units of the largest gain, every
row divided by its largest coefficient.

HiGHS takes matrix values of 1e15 and above as infinite and drops those below 1e-9, and CBC
loses its way on such numbers (an initiative costing 1e15, or revenue of 1e11 a customer, made
HiGHS fail and CBC run past its time limit). So the solvers are handed the same program in
other units: money is counted in units of ``M`` (the largest objective coefficient of a choice,
at least 1) — the continuous columns that hold money (unbounded: Glover's sums, CVaR's ``eta``
and shortfalls) are substituted ``y = M y'`` and the objective divided by ``M`` — and then
every row is divided by its largest coefficient. Continuous columns bounded in [0, 1] (the
products of two choices) are not money and stay. The feasible choices are exactly the same;
only the objective's value is in other units, and cxopt never reads it (every choice is
re-valued from the value tables). The objective's constant (the baseline) is left out: the
solvers' relative optimality gap would otherwise be measured against the whole retained revenue
rather than against what the choice changes, and stop early by that much. No-good cuts and budget moves are scaled the same way as
they arrive (:meth:`Scaling.rows`, :meth:`Scaling.budget_upper`).
"""

from __future__ import annotations

import numpy as np

from cxopt.portfolio.matrix import MatrixModel, Row

__all__ = ["Scaling"]


class Scaling:
    """The units one solver session uses for one :class:`MatrixModel`."""

    def __init__(self, model: MatrixModel):
        cost = np.abs(np.asarray(model.col_cost, dtype=float))
        self.money = float(max(1.0, cost[: model.n_x].max(initial=0.0)))
        lower, upper = np.asarray(model.col_lower, float), np.asarray(model.col_upper, float)
        is_money = ~np.asarray(model.integer, bool) & ~((lower >= 0.0) & (upper <= 1.0))
        self.col_scale = np.where(is_money, self.money, 1.0)
        self.row_scale = np.zeros(0)

    def rows(self, model: MatrixModel, start: int = 0) -> list[Row]:
        """Rows ``start..`` of ``model`` in scaled units (recording their scales)."""
        out, scales = [], []
        for r in model.rows[start:]:
            value = r.value * self.col_scale[r.index]
            s = float(np.abs(value).max()) if value.size and np.abs(value).max() > 0 else 1.0
            out.append(Row(r.index, value / s, r.lower / s, r.upper / s, r.name))
            scales.append(s)
        self.row_scale = np.concatenate([self.row_scale[:start], np.asarray(scales, dtype=float)])
        return out

    def model(self, model: MatrixModel) -> MatrixModel:
        """A scaled copy of ``model`` (same columns, rows and budget rows)."""
        s = self.col_scale
        out = MatrixModel(model.n_x, list(model.col_names), np.asarray(model.col_lower, float) / s,
                          np.asarray(model.col_upper, float) / s, np.asarray(model.col_cost, float) * s / self.money,
                          np.asarray(model.integer, bool), 0.0)
        out.rows = self.rows(model)
        out.budget_rows = dict(model.budget_rows)
        out.cuts, out.n_base_rows = model.cuts, model.n_base_rows
        return out

    def budget_upper(self, model: MatrixModel, r: int) -> float:
        """Row ``r``'s upper bound (a budget, moved by the frontier) in scaled units."""
        return model.rows[r].upper / self.row_scale[r]

