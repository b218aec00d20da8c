"""Per-trial draws and values as Parquet (``--out trials.parquet``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cxopt.data.atomic import atomic_path
from cxopt.engine.simulation import Simulation

__all__ = ["trials_table", "write_trials"]


def trials_table(sim: Simulation, extra: dict[str, np.ndarray] | None = None) -> pa.Table:
    """One row per trial: the draws (market, severities, lifts, effects, success, go-live) and values."""
    cols: dict[str, np.ndarray] = {"trial": np.arange(sim.trials, dtype=np.int64), **sim.draws.columns(sim.scenario)}
    cols["baseline.retained_revenue"] = sim.baseline_revenue
    cols["baseline.customers_retained"] = sim.baseline_customers
    for k, kid in enumerate(sim.initiative_ids):
        cols[f"single.{kid}.retained_revenue"] = sim.single_revenue[k]
    for name, values in (extra or {}).items():
        cols[name] = values
    return pa.table(cols)


def write_trials(sim: Simulation, path: str | Path, *, force: bool = False,
                 extra: dict[str, np.ndarray] | None = None) -> Path:
    with atomic_path(path, force=force) as tmp:
        pq.write_table(trials_table(sim, extra), tmp, compression="zstd")
    return Path(path)
