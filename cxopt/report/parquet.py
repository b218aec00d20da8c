"""Per-trial draws and values as Parquet (``--out trials.parquet``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import atomic_path
from ..engine import Simulation

__all__ = ["trials_table", "write_trials"]


def trials_table(sim: Simulation, extra: dict[str, np.ndarray] | None = None) -> pa.Table:
    """One row per trial: the draws (market, severities, lifts, effects, success, go-live) and values."""
    sc, d = sim.scenario, sim.draws
    cols: dict[str, np.ndarray] = {"trial": np.arange(d.trials, dtype=np.int64), "market_multiplier": d.market}
    for j, p in enumerate(sc.pain_points):
        cols[f"severity.{p.id}"] = d.strength[:, j]
    n_p = len(sc.pain_points)
    for j, x in enumerate(sc.delighters):
        cols[f"lift.{x.id}"] = d.strength[:, n_p + j]
    ids = sc.initiative_ids
    drivers = sc.driver_ids
    for e in range(d.fix_driver.shape[0]):
        cols[f"effect.{ids[d.fix_initiative[e]]}.{drivers[d.fix_driver[e]]}"] = d.effect[:, e]
    for k, kid in enumerate(ids):
        cols[f"success.{kid}"] = d.success[:, k]
        cols[f"golive.{kid}"] = d.golive[:, k]
    cols["baseline.retained_revenue"] = sim.baseline_revenue
    cols["baseline.customers_retained"] = sim.baseline_customers
    for k, kid in enumerate(ids):
        cols[f"single.{kid}.retained_revenue"] = sim.single_revenue[k]
    for name, values in (extra or {}).items():
        cols[name] = values
    return pa.table(cols)


def write_trials(sim: Simulation, path: str | Path, *, force: bool = False,
                 extra: dict[str, np.ndarray] | None = None) -> Path:
    with atomic_path(path, force=force) as tmp:
        pq.write_table(trials_table(sim, extra), tmp, compression="zstd")
    return Path(path)
