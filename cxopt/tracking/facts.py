"""Delivery facts applied exactly to the draws (DESIGN.md section 3, "Tracking").

A cancelled initiative is not delivered in any trial (``b_k = 0``); an actual or revised
go-live month (``live_month``, the label of the first live month) replaces the drawn one; an
initiative reported live in month m went live in month m at the latest; one reported planned
or delayed at the end of month m cannot go live before month m + 1. Draws count months from 0
internally: label L is index L - 1 (``plan.schedule``).
"""

from __future__ import annotations

import numpy as np

from cxopt.engine.draws import Draws
from cxopt.tracking.actuals import Actuals

__all__ = ["apply_facts"]


def apply_facts(draws: Draws, initiative_ids: list[str], horizon: int, actuals: Actuals
                ) -> tuple[Draws, dict[str, str]]:
    """The draws with delivery facts imposed, and each initiative's latest reported status."""
    success = draws.success.copy()
    golive = draws.golive.copy()
    latest: dict[str, str] = {}
    n = len(actuals.months)
    for k, kid in enumerate(initiative_ids):
        st = actuals.status.get(kid, [None] * n)
        lm = actuals.live_month.get(kid, np.full(n, np.nan))
        for i, month in enumerate(actuals.months):
            s = st[i]
            if s is not None:
                latest[kid] = s
            if s == "cancelled":
                success[:, k] = False
            if not np.isnan(lm[i]):
                first_live = int(lm[i])
                golive[:, k] = min(first_live - 1, horizon)
                if s in ("live", None) and first_live <= month:
                    success[:, k] = True  # it went live: delivered
            elif s == "live":
                success[:, k] = True
                golive[:, k] = np.minimum(golive[:, k], month - 1)
            elif s in ("planned", "delayed"):
                golive[:, k] = np.maximum(golive[:, k], min(int(month), horizon))
    if np.array_equal(success, draws.success) and np.array_equal(golive, draws.golive):
        return draws, latest
    return draws.with_facts(success=success, golive=golive), latest
