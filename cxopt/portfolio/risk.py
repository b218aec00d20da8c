"""The objective's exact value over per-trial values: the mean, or the risk-averse
``(1-beta) mean + beta CVaR_alpha`` (``risk="cvar:ALPHA:BETA"``)."""

from __future__ import annotations

import math

import numpy as np

from cxopt.errors import ArgumentError

__all__ = ["risk_value", "cvar", "parse_risk"]


def risk_value(values: np.ndarray, objective: str) -> float:
    """The objective's exact value over per-trial values: the mean, or (1-b) mean + b CVaR_a."""
    values = np.asarray(values, dtype=np.float64)
    if objective == "mean":
        return float(values.mean())
    alpha, beta = parse_risk(objective)
    return (1 - beta) * float(values.mean()) + beta * cvar(values, alpha)


def cvar(values: np.ndarray, alpha: float) -> float:
    """Mean of the worst ``alpha`` share of trials (fractional trial at the boundary)."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    k = alpha * v.size
    whole = int(math.floor(k + 1e-12))
    total = v[:whole].sum()
    if whole < v.size and k - whole > 1e-12:
        total += (k - whole) * v[whole]
    return float(total / k)


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
