"""The plan directory's data files: what ``cxopt optimize --out DIR`` keeps so a plan can be
tracked later (written by :func:`write_plan_data`, read by :func:`load_plan`). The human
files and the atomic assembly of the whole directory are the report stage's
(:func:`cxopt.report.plandir.save_plan`).

Format version 1 (documented in ``docs/plan-format.md``)::

    DIR/plan.json        the plan (Plan.to_dict()), with "format_version": 1
    DIR/scenario.json    the validated scenario as data (what tracking reloads)
    DIR/scenario.toml    the scenario file exactly as it was read (when it came from a file;
                         scenario.xlsx when it came from a workbook)
    DIR/groups.parquet   the base's grouped sufficient statistics (one row per group)
    DIR/trials.parquet   one row per trial: every draw, the baseline and portfolio values,
                         and the monthly forecast path of the chosen portfolio
    DIR/plan.md, DIR/report.html   the human-readable plan

Tracking needs no pass over the customer base: the grouped statistics and the draws are
enough to re-evaluate the portfolio exactly with actual delivery facts.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cxopt.data.customers import GroupStats
from cxopt.engine.draws import Draws
from cxopt.engine.simulation import Simulation
from cxopt.engine.trials import trials_table
from cxopt.plan.build import PLAN_FORMAT_VERSION
from cxopt.plan.schedule import planned_metric
from cxopt.model.scenario import Scenario, parse_scenario
from cxopt.errors import PlanFileError, Problem

__all__ = ["write_plan_data", "load_plan", "StoredPlan", "FORMAT_VERSION"]

FORMAT_VERSION = PLAN_FORMAT_VERSION
READABLE_VERSIONS = (1, 2)  # 1 is upgraded on read (months became labels in 2)


def _groups_table(g: GroupStats) -> pa.Table:
    meta = {b"cxopt.segments": json.dumps(list(g.segments)).encode(),
            b"cxopt.drivers": json.dumps(list(g.drivers)).encode(),
            b"cxopt.max_churn": repr(g.max_churn).encode(),
            b"cxopt.format_version": str(FORMAT_VERSION).encode()}
    t = pa.table({"segment": g.segment, "mask": g.mask, "customers": g.customers, "revenue": g.revenue,
                  "revenue_churn": g.revenue_churn, "churn": g.churn})
    return t.replace_schema_metadata(meta)


def write_plan_data(plan, directory: str | Path) -> None:
    """Write the plan's data files (plan.json, scenario.json, scenario.toml, groups.parquet,
    trials.parquet) into ``directory``, which exists.

    Not atomic by itself: :func:`cxopt.report.plandir.save_plan` calls it inside the temporary
    directory that becomes the plan directory, beside the human files (plan.md, report.html).
    """
    tmp = Path(directory)
    sim: Simulation = plan.simulation
    sc = sim.scenario
    data = plan.to_dict()
    (tmp / "plan.json").write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    # the validated scenario as data (reloadable whether it came from a file or from Python)
    (tmp / "scenario.json").write_text(json.dumps(sc.to_data(), indent=2) + "\n", encoding="utf-8")
    source = Path(sc.source)
    if source.is_file() and source.suffix.lower() == ".xlsx":  # a workbook: kept as it is
        (tmp / "scenario.xlsx").write_bytes(source.read_bytes())
    elif source.is_file():  # the file as written, for people
        (tmp / "scenario.toml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    pq.write_table(_groups_table(sim.groups), tmp / "groups.parquet")
    extra = {"portfolio.retained_revenue": plan.result.revenue,
             "portfolio.customers_retained": plan.result.customers}
    for m in range(plan.path.horizon):
        extra[f"month.{m + 1}.customers_lost"] = plan.path.customers_lost[:, m]
        extra[f"month.{m + 1}.revenue_lost"] = plan.path.revenue_lost[:, m]
    table = trials_table(sim, extra).replace_schema_metadata(
        {b"cxopt.format_version": str(FORMAT_VERSION).encode(), b"cxopt.seed": str(sim.draws.seed).encode()})
    pq.write_table(table, tmp / "trials.parquet", compression="zstd")


@dataclass(frozen=True)
class StoredPlan:
    """A plan read back from its directory: enough to re-evaluate it on its own draws."""

    path: Path
    data: dict
    scenario: Scenario
    groups: GroupStats
    draws: Draws
    selected: list[int]
    baseline_revenue: np.ndarray
    baseline_customers: np.ndarray
    revenue: np.ndarray
    customers: np.ndarray
    customers_lost: np.ndarray  # (T, H)
    revenue_lost: np.ndarray  # (T, H)

    def simulation(self) -> Simulation:
        """A :class:`Simulation` over the stored draws (value tables for the baseline only)."""
        K = len(self.scenario.initiatives)
        T = self.draws.trials
        return Simulation(
            scenario=self.scenario, groups=self.groups, draws=self.draws, mode=self.data.get("mode", "grouped"),
            baseline_revenue=self.baseline_revenue, baseline_customers=self.baseline_customers,
            single_revenue=np.zeros((K, T)), single_customers=np.zeros((K, T)),
            pairs=np.zeros((0, 2), dtype=np.int64), pair_revenue=np.zeros((0, T)), pair_customers=np.zeros((0, T)),
            base_description=f"stored plan {self.path}",
        )


def upgrade_v1(data: dict, sc: Scenario) -> dict:
    """A format-1 plan.json as format 2: months counted from 0 become month labels (1..H), and
    the checkpoints are re-derived from the one planned path (``plan.schedule``)."""
    data = json.loads(json.dumps(data))  # a deep copy
    for a in data.get("actions", []):
        a["start_month"] = int(a["start_month"]) + 1
        a["golive_month"] = {q: float(v) + 1.0 for q, v in a["golive_month"].items()}
        init = sc.initiative(a["id"])
        golive = int(round(a["golive_month"]["p50"]))
        a["checkpoints"] = [] if init.metric is None else [
            {"month": m, "expected_metric": planned_metric(init.metric, init.start_month, golive, m)}
            for m in range(init.start_month + 1, min(golive, sc.horizon_months) + 1)]
    data["format_version"] = FORMAT_VERSION
    data["upgraded_from"] = 1
    return data


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFileError(Problem(str(path), "", f"not readable as JSON: {exc}")) from None
    if not isinstance(data, dict):
        raise PlanFileError(Problem(str(path), "", f"expected a JSON object, got {type(data).__name__}"))
    return data


def _read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:  # truncated, corrupt or not Parquet
        raise PlanFileError(Problem(str(path), "", f"not a readable Parquet file ({exc}); "
                                    "write the plan again with cxopt optimize --out DIR")) from None


def _column(table: pa.Table, path: Path, name: str, why: str = "") -> np.ndarray:
    """A numeric column as a finite NumPy array, or a PlanFileError naming the file and column."""
    if name not in table.column_names:
        raise PlanFileError(Problem(str(path), name, "column missing" + (f" ({why})" if why else "")))
    try:
        out = table.column(name).to_numpy()
    except (pa.ArrowException, ValueError) as exc:
        raise PlanFileError(Problem(str(path), name, f"not readable as numbers ({exc})")) from None
    if out.dtype.kind not in "biuf":
        raise PlanFileError(Problem(str(path), name, f"expected numbers, got {table.schema.field(name).type}"))
    if out.dtype.kind == "f" and not np.all(np.isfinite(out)):
        raise PlanFileError(Problem(str(path), name, "holds a missing or non-finite value"))
    return out


def _finite_number(value) -> bool:
    """A JSON number (not a boolean) that is finite."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and bool(np.isfinite(value))


def _check_plan_data(data: dict, sc: Scenario, where: Path) -> None:
    """The keys of plan.json that reading and tracking rely on, each checked against the scenario."""
    ids = set(sc.initiative_ids)
    selected = data.get("selected")
    if not isinstance(selected, list) or not all(isinstance(x, str) for x in selected):
        raise PlanFileError(Problem(str(where), "selected", "expected a list of initiative ids"))
    for k, x in enumerate(selected):
        if x not in ids:
            raise PlanFileError(Problem(str(where), f"selected[{k}]",
                                        f"{x!r} is not an initiative of the plan's scenario.json"))
    if len(set(selected)) != len(selected):
        raise PlanFileError(Problem(str(where), "selected", "names an initiative twice"))
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise PlanFileError(Problem(str(where), "seed", f"expected a whole number >= 0, got {seed!r}"))
    goal = data.get("goal")
    if not isinstance(goal, dict):
        raise PlanFileError(Problem(str(where), "goal", "missing or not an object"))
    target = goal.get("target")
    if not _finite_number(target):
        raise PlanFileError(Problem(str(where), "goal.target", f"expected a finite number, got {target!r}"))
    confidence = goal.get("confidence", 0.5)
    if not _finite_number(confidence) or not 0.0 < confidence < 1.0:
        raise PlanFileError(Problem(str(where), "goal.confidence", f"expected a number in (0, 1), got {confidence!r}"))
    actions = data.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) and isinstance(a.get("id"), str)
                                                for a in actions):
        raise PlanFileError(Problem(str(where), "actions", "expected a list of objects, each with an id"))
    for k, a in enumerate(actions):
        gl = a.get("golive_month", {})
        if not isinstance(gl, dict) or not all(_finite_number(v) for v in gl.values()):
            raise PlanFileError(Problem(str(where), f"actions[{k}].golive_month",
                                        "expected an object of finite numbers (p10, p50, p90)"))


def load_plan(path: str | Path) -> StoredPlan:
    """Read a plan directory written by :func:`cxopt.report.plandir.save_plan`.

    Every file is checked as it is read: a plan directory edited by hand, truncated or written by
    another version raises :class:`~cxopt.errors.PlanFileError` naming the file, the field or
    column, and the reason; a scenario.json that no longer validates raises the scenario's own
    errors, naming scenario.json.
    """
    path = Path(path)
    where = str(path)
    if not path.is_dir():
        raise PlanFileError(Problem(where, "", "not a plan directory (write one with cxopt optimize --out DIR)"))
    for name in ("plan.json", "scenario.json", "groups.parquet", "trials.parquet"):
        if not (path / name).is_file():
            raise PlanFileError(Problem(where, name, "missing from the plan directory"))
    data = _read_json(path / "plan.json")
    version = data.get("format_version")
    if version not in READABLE_VERSIONS:
        raise PlanFileError(Problem(str(path / "plan.json"), "format_version",
                                    f"this cxopt reads plan formats {', '.join(map(str, READABLE_VERSIONS))}, "
                                    f"got {version!r}"))
    sc = parse_scenario(_read_json(path / "scenario.json"), source=str(path / "scenario.json"))
    _check_plan_data(data, sc, path / "plan.json")
    if version == 1:
        try:
            data = upgrade_v1(data, sc)
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanFileError(Problem(str(path / "plan.json"), "actions",
                                        f"a format-1 plan that cannot be upgraded ({exc!r})")) from None
        warnings.warn(f"{path}: a plan of format 1 (months counted from 0), read as format {FORMAT_VERSION}: "
                      "go-live and checkpoint months are now month labels (1..H, go-live = first month live)")
    groups = _read_groups(path / "groups.parquet", sc)
    tpath = path / "trials.parquet"
    tt = _read_parquet(tpath)
    T = tt.num_rows
    if T < 1:
        raise PlanFileError(Problem(str(tpath), "", "holds no trials"))
    trials = data.get("trials")
    if isinstance(trials, int) and not isinstance(trials, bool) and trials != T:
        raise PlanFileError(Problem(str(tpath), "", f"holds {T} trials but plan.json says {trials}"))
    why = "trials.parquet does not match the plan's scenario.json"

    def col(name: str) -> np.ndarray:
        return _column(tt, tpath, name, why)

    n_p = len(sc.pain_points)
    strength = np.empty((T, len(sc.drivers)))
    for j, p in enumerate(sc.pain_points):
        strength[:, j] = col(f"severity.{p.id}")
    for j, x in enumerate(sc.delighters):
        strength[:, n_p + j] = col(f"lift.{x.id}")
    ids, drivers = sc.initiative_ids, sc.driver_ids
    K = len(ids)
    fix_ptr = np.zeros(K + 1, dtype=np.int64)
    fix_initiative, fix_driver, effects = [], [], []
    for k, init in enumerate(sc.initiatives):
        for d in init.fixes:
            fix_initiative.append(k)
            fix_driver.append(drivers.index(d))
            effects.append(col(f"effect.{init.id}.{d}"))
        fix_ptr[k + 1] = len(fix_driver)
    H = sc.horizon_months
    golive = np.column_stack([col(f"golive.{x}") for x in ids]) if K else np.zeros((T, 0))
    if golive.size and (golive.min() < 0 or golive.max() > H + 1 or np.any(golive != np.round(golive))):
        raise PlanFileError(Problem(str(tpath), "golive.*", f"go-live months must be whole numbers in 0..{H + 1}"))
    draws = Draws(
        seed=int(data.get("seed", 0)), market=np.ascontiguousarray(col("market_multiplier")),
        strength=np.ascontiguousarray(strength), fix_ptr=fix_ptr,
        fix_initiative=np.asarray(fix_initiative, dtype=np.int32), fix_driver=np.asarray(fix_driver, dtype=np.int32),
        effect=np.ascontiguousarray(np.column_stack(effects) if effects else np.zeros((T, 0))),
        success=np.ascontiguousarray((np.column_stack([col(f"success.{x}") for x in ids]) if K
                                      else np.zeros((T, 0))).astype(np.bool_)),
        golive=np.ascontiguousarray(golive.astype(np.int32)),
        latent=np.column_stack([col(f"latent.{x}") for x in ids]) if K else np.zeros((T, 0)), horizon=H,
    )
    return StoredPlan(
        path=path, data=data, scenario=sc, groups=groups, draws=draws,
        selected=[ids.index(x) for x in data["selected"]],
        baseline_revenue=col("baseline.retained_revenue"), baseline_customers=col("baseline.customers_retained"),
        revenue=col("portfolio.retained_revenue"), customers=col("portfolio.customers_retained"),
        customers_lost=np.column_stack([col(f"month.{m + 1}.customers_lost") for m in range(H)]),
        revenue_lost=np.column_stack([col(f"month.{m + 1}.revenue_lost") for m in range(H)]),
    )


def _read_groups(gpath: Path, sc: Scenario) -> GroupStats:
    """groups.parquet as :class:`GroupStats`, checked against the scenario's drivers and segments."""
    gt = _read_parquet(gpath)
    meta = gt.schema.metadata or {}
    try:
        segments = tuple(json.loads(meta[b"cxopt.segments"]))
        drivers = tuple(json.loads(meta[b"cxopt.drivers"]))
        max_churn = float(meta.get(b"cxopt.max_churn", b"0"))
    except (KeyError, ValueError, TypeError) as exc:
        raise PlanFileError(Problem(str(gpath), "metadata", f"missing or unreadable cxopt metadata ({exc!r})")) from None
    if list(drivers) != list(sc.driver_ids):
        raise PlanFileError(Problem(str(gpath), "metadata.drivers",
                                    f"drivers {list(drivers)} do not match the plan's scenario.json "
                                    f"{list(sc.driver_ids)}"))
    if list(segments) != list(sc.segment_ids):
        raise PlanFileError(Problem(str(gpath), "metadata.segments",
                                    f"segments {list(segments)} do not match the plan's scenario.json "
                                    f"{list(sc.segment_ids)}"))
    col = lambda name: _column(gt, gpath, name)  # noqa: E731
    seg = col("segment")
    if seg.size and (seg.min() < 0 or seg.max() >= max(len(segments), 1)):
        raise PlanFileError(Problem(str(gpath), "segment", f"segment indices must lie in 0..{len(segments) - 1}"))
    return GroupStats(
        segment=col("segment").astype(np.int32), mask=col("mask").astype(np.uint64),
        customers=col("customers").astype(np.int64), revenue=col("revenue"),
        revenue_churn=col("revenue_churn"), churn=col("churn"),
        max_churn=max_churn, segments=segments, drivers=drivers,
    )
