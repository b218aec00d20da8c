"""Per-trial values summarised: the mean and the P10/P50/P90 every report shows."""

from __future__ import annotations

import numpy as np

__all__ = ["summarise"]


def summarise(values: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """``{mean, p10, p50, p90}`` of per-trial values (optionally weighted)."""
    values = np.asarray(values, dtype=np.float64)
    if weights is None:
        q = np.quantile(values, [0.1, 0.5, 0.9])
        return {"mean": float(values.mean()), "p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}
    w = np.asarray(weights, dtype=np.float64)
    if np.all(w == w[0]):  # equal weights: exactly the unweighted summary
        return summarise(values)
    w = w / w.sum()
    order = np.argsort(values, kind="stable")
    cw = np.cumsum(w[order])
    pick = lambda a: float(values[order][min(np.searchsorted(cw, a), len(cw) - 1)])  # noqa: E731
    # the mean as an offset from the least value: exact where every value is the same (the weights' sum
    # is 1 only to rounding, so values @ w of a constant 72 could read 72.00000000000001), never below it
    low = float(values.min())
    mean = min(low + float((values - low) @ w), float(values.max()))
    return {"mean": mean, "p10": pick(0.1), "p50": pick(0.5), "p90": pick(0.9)}
