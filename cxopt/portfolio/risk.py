"""The objective's exact value over per-trial values: the mean, or the risk-averse
``(1-beta) mean + beta CVaR_alpha`` (``risk="cvar:ALPHA:BETA"``)."""

from __future__ import annotations

import math

import numpy as np

from cxopt.errors import ArgumentError

__all__ = ["risk_value", "risk_rows", "cvar", "parse_risk", "tail_weights"]


def risk_value(values: np.ndarray, objective: str) -> float:
    """The objective's exact value over per-trial values: the mean, or (1-b) mean + b CVaR_a."""
    values = np.asarray(values, dtype=np.float64)
    if objective == "mean":
        return float(values.mean())
    alpha, beta = parse_risk(objective)
    return (1 - beta) * float(values.mean()) + beta * cvar(values, alpha)


def risk_rows(v: np.ndarray, objective: str) -> np.ndarray:
    """:func:`risk_value` of each row of ``v`` (n, T), vectorised (the sums in another order: equal to
    rounding)."""
    alpha, beta = parse_risk(objective)
    T = v.shape[1]
    k = alpha * T
    whole = int(math.floor(k + 1e-12))
    frac = k - whole if whole < T and k - whole > 1e-12 else 0.0
    part = np.partition(v, whole, axis=1) if whole < T else v
    total = part[:, :whole].sum(axis=1) + (frac * part[:, whole] if frac else 0.0)
    return (1 - beta) * v.mean(axis=1) + beta * total / k


def cvar(values: np.ndarray, alpha: float) -> float:
    """Mean of the worst ``alpha`` share of trials (fractional trial at the boundary)."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    k = alpha * v.size
    whole = int(math.floor(k + 1e-12))
    total = v[:whole].sum()
    if whole < v.size and k - whole > 1e-12:
        total += (k - whole) * v[whole]
    return float(total / k)


def tail_weights(values: np.ndarray, alpha: float) -> np.ndarray:
    """The trials' weights under which the mean is ``values``' CVaR_alpha (the worst share, the boundary
    trial in part): a reweighting with no trial above ``1 / (alpha T)``."""
    T = values.shape[0]
    k = alpha * T
    order = np.argsort(values, kind="stable")
    whole = int(np.floor(k + 1e-12))
    q = np.zeros(T)
    q[order[:whole]] = 1.0 / k
    if whole < T and k - whole > 1e-12:
        q[order[whole]] = (k - whole) / k
    return q


def parse_risk(objective: str) -> tuple[float, float]:
    """``"cvar:ALPHA:BETA"`` -> ``(alpha, beta)``; anything else is an :class:`ArgumentError` on ``risk``."""
    try:
        name, a, b = objective.split(":")
        alpha, beta = float(a), float(b)
    except (ValueError, AttributeError):
        raise ArgumentError("risk", f"expected cvar:ALPHA:BETA (e.g. cvar:0.1:0.5), got {objective!r}") from None
    if name != "cvar" or not 0 < alpha <= 1 or not 0 <= beta <= 1:
        raise ArgumentError("risk", "expected cvar:ALPHA:BETA with 0 < ALPHA <= 1 and 0 <= BETA <= 1, "
                                    f"got {objective!r}")
    return alpha, beta
