"""The plan directory written by ``cxopt optimize --out DIR`` (atomically, all or nothing)."""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import atomic_dir
from ..plan import Plan

__all__ = ["write_plan_dir", "PLAN_FORMAT_VERSION"]

PLAN_FORMAT_VERSION = 1


def write_plan_dir(plan: Plan, out: str | Path, *, force: bool = False) -> Path:
    """Write ``plan.json`` and ``trials.parquet`` into ``out``."""
    from .parquet import write_trials

    with atomic_dir(out, force=force) as tmp:
        data = plan.to_dict()
        data["format_version"] = PLAN_FORMAT_VERSION
        (tmp / "plan.json").write_text(json.dumps(data, indent=2, default=float) + "\n", encoding="utf-8")
        write_trials(plan.simulation, tmp / "trials.parquet",
                     extra={"portfolio.retained_revenue": plan.result.revenue,
                            "portfolio.customers_retained": plan.result.customers})
    return Path(out)
