"""The CX levels of a tracking: per metric the scenario declares in ``[metrics]``, the level
measured each month (the actuals' ``<metric>`` column) beside the forecast band of that month,
and the re-forecast of the level in the horizon's last month (the plan's own beside it).

The forecast is :func:`cxopt.engine.levels.metric_level_path` on the particles' draws (facts
applied), weighted by the posterior; the plan's on its stored trials. A measured level is
evidence (``tracking.evidence.level_loglik``); the band after it is the posterior's.
"""

from __future__ import annotations

import numpy as np

from cxopt.engine.draws import Draws
from cxopt.engine.levels import metric_info, metric_level_path
from cxopt.engine.simulation import Simulation
from cxopt.engine.summary import summarise
from cxopt.tracking.actuals import Actuals

__all__ = ["level_report"]


def level_report(sim: Simulation, portfolio: list[int], plan_draws: Draws, draws: Draws, weights: np.ndarray,
                 actuals: Actuals, sds: dict[str, float]) -> dict[str, dict]:
    """``{metric: {label, unit, today, higher_is_better, level_sd, months, reforecast, planned}}``.

    ``months``: one entry per month label 1..H with ``measured`` (None where not given),
    ``forecast`` (the posterior's band) and ``planned`` (the plan's band); ``reforecast`` and
    ``planned`` the level in the horizon's last month.
    """
    sc = sim.scenario
    H = sc.horizon_months
    out = {}
    for name in sc.metrics:
        info = metric_info(sc, name)
        path = metric_level_path(sim, portfolio, name, draws)
        planned = metric_level_path(sim, portfolio, name, plan_draws)
        measured = dict(zip(actuals.months.tolist(), actuals.levels.get(name, np.full(len(actuals.months), np.nan))))
        months = [{"month": m + 1,
                   "measured": None if np.isnan(measured.get(m + 1, np.nan)) else float(measured[m + 1]),
                   "forecast": summarise(path[:, m], weights), "planned": summarise(planned[:, m])}
                  for m in range(H)]
        out[name] = {"label": info.label, "unit": info.unit, "today": info.today,
                     "higher_is_better": info.higher_is_better, "level_sd": sds[name], "months": months,
                     "reforecast": summarise(path[:, H - 1], weights), "planned": summarise(planned[:, H - 1])}
    return out
