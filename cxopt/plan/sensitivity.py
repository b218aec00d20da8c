"""Which uncertain inputs drive the spread of the portfolio's value (a tornado), from the trials run.

For every input drawn per trial (market multiplier, severities, lifts, the chosen
initiatives' effects, delivery success and go-live months) that actually varies: its
Spearman rank correlation with the portfolio's retained revenue, and the swing — the mean
value in the trials where the input is in its top decile minus the bottom decile (for a
yes/no input: delivered minus not delivered). Sorted by the size of the swing.
"""

from __future__ import annotations

import numpy as np

from cxopt.engine.draws import Draws
from cxopt.model.scenario import Scenario

__all__ = ["tornado", "input_columns", "rankdata"]


def rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``a``, ties given their average rank (``scipy.stats.rankdata``'s default, whose
    algorithm this is: importing ``scipy.stats`` for it cost every plan half a second)."""
    arr = np.ravel(np.asarray(a))
    if arr.dtype.kind == "f" and np.isnan(arr).any():  # scipy's nan_policy="propagate"
        return np.full(arr.size, np.nan)
    sorter = np.argsort(arr, kind="quicksort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size, dtype=np.intp)
    arr = arr[sorter]
    obs = np.r_[True, arr[1:] != arr[:-1]]
    dense = obs.cumsum()[inv]
    count = np.r_[np.nonzero(obs)[0], len(obs)]
    return 0.5 * (count[dense] + count[dense - 1] + 1)


def input_columns(sc: Scenario, draws: Draws, portfolio: list[int]) -> dict[str, np.ndarray]:
    """The per-trial inputs that bear on a portfolio, by readable name."""
    cols: dict[str, np.ndarray] = {"market churn multiplier": draws.market}
    n_p = len(sc.pain_points)
    for j, p in enumerate(sc.pain_points):
        cols[f"severity: {p.id}"] = draws.strength[:, j]
    for j, x in enumerate(sc.delighters):
        cols[f"lift: {x.id}"] = draws.strength[:, n_p + j]
    ids, drivers = sc.initiative_ids, sc.driver_ids
    for k in portfolio:
        for e in range(draws.fix_ptr[k], draws.fix_ptr[k + 1]):
            cols[f"effect: {ids[k]} on {drivers[draws.fix_driver[e]]}"] = draws.effect[:, e]
        cols[f"delivered: {ids[k]}"] = draws.success[:, k].astype(np.float64)
        cols[f"go-live month: {ids[k]}"] = draws.golive[:, k].astype(np.float64)
    return cols


def tornado(sc: Scenario, draws: Draws, portfolio: list[int], value: np.ndarray, top: int = 12) -> list[dict]:
    """Rows ``{input, spearman, swing, low, high}`` for the inputs that move ``value`` most."""
    value = np.asarray(value, dtype=np.float64)
    rv = rankdata(value)
    if np.ptp(value) == 0:  # nothing moves the value (no revenue, nobody exposed): no input matters
        return []
    rows = []
    for name, x in input_columns(sc, draws, portfolio).items():
        if np.ptp(x) == 0:
            continue
        rho = float(np.corrcoef(rankdata(x), rv)[0, 1])
        uniq = np.unique(x)
        if uniq.size == 2:
            low_v, high_v = value[x == uniq[0]].mean(), value[x == uniq[1]].mean()
        else:
            lo, hi = np.quantile(x, [0.1, 0.9])
            low_sel, high_sel = x <= lo, x >= hi
            if not low_sel.any() or not high_sel.any():
                continue
            low_v, high_v = value[low_sel].mean(), value[high_sel].mean()
        rows.append({"input": name, "spearman": rho, "swing": float(high_v - low_v),
                     "low": float(low_v), "high": float(high_v)})
    rows.sort(key=lambda r: -abs(r["swing"]))
    return rows[:top]
