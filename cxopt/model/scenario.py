"""The scenario file: schema, loading and validation (DESIGN.md section 6).

This is the only module that reads scenario files. :func:`load_scenario` returns a
validated, immutable :class:`Scenario`; everything downstream trusts it. Every problem
found is reported together, each as ``FILE: dotted.field[2].path: reason``, through a
:class:`ScenarioError`.

Validation is done by pydantic models with ``extra="forbid"`` (a typo in a key is an
error, never silently ignored), plus the cross-checks pydantic cannot express: unknown
drivers in ``fixes``, unknown initiatives in ``[constraints]``, unknown segments, budget
periods, duplicate ids, shares that must sum to one.
"""

from __future__ import annotations

import datetime as _dt
import tomllib
import warnings
from pathlib import Path
from typing import Annotated, Any, Mapping

from pydantic import BaseModel, Field, ValidationError, model_validator

from cxopt.model.distributions import Distribution, parse_distribution

__all__ = [
    "Scenario",
    "ScenarioError",
    "Problem",
    "load_scenario",
    "parse_scenario",
    "MAX_DRIVERS",
    "DEFAULT_TRIALS",
    "DEFAULT_SEED",
]

from cxopt.errors import Problem, ScenarioError  # noqa: E402  (re-exported: the names users import)
from cxopt.model.crosscheck import MAX_DRIVERS, cross_check  # noqa: E402
from cxopt.model.fields import (AmountOrTable, Currency, Identifier, Model, NonNeg, NonNegDist, Positive, Share, ShareDist, ShareOrTable, StartDate, Text, Finite, number_field, whole_number)  # noqa: E402

DEFAULT_TRIALS = 10_000
DEFAULT_SEED = 20261122
DEFAULT_MAX_INITIATIVES = 5


# --------------------------------------------------------------------------------------
# the schema
# --------------------------------------------------------------------------------------
class ScenarioMeta(Model):
    name: Text = "Unnamed scenario"
    currency: Currency = "USD"
    horizon_months: whole_number(1, 120) = 12
    trials: whole_number(1) = DEFAULT_TRIALS
    seed: whole_number(0, 2**63 - 1) = DEFAULT_SEED
    start: StartDate | None = None
    description: str | None = None
    # contribution margin: every return figure counts margin on retained revenue; the optimiser's objective
    # is retained revenue unless --objective value (margin x retained revenue + savings - cost)
    margin: number_field(0.0, 1.0, strict_lower=True) | None = None
    sponsor: Text | None = None  # the plan's sponsor, named on the goal


class Segment(Model):
    id: Identifier
    name: Text | None = None
    share: Share | None = None
    revenue_multiplier: Positive = 1.0
    baseline_churn: ShareDist | None = None  # overrides [customers] baseline_churn

    @property
    def label(self) -> str:
        return self.name or self.id


class Customers(Model):
    count: whole_number(1) | None = None
    path: Text | None = None
    revenue: NonNegDist = Field(default_factory=lambda: parse_distribution(1.0, lower=0.0))
    baseline_churn: ShareDist = Field(default_factory=lambda: parse_distribution(0.1, lower=0.0, upper=1.0))
    exposure_correlation: Annotated[float, Field(ge=0.0, le=0.99, strict=True)] = 0.0
    segments: list[Segment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _count_or_path(self) -> "Customers":
        if self.count is None and self.path is None:
            raise ValueError("give either 'count' (a synthetic base) or 'path' (a customer file)")
        if self.count is not None and self.path is not None:
            raise ValueError("give either 'count' or 'path', not both")
        return self


class Market(Model):
    churn_multiplier: NonNegDist = Field(default_factory=lambda: parse_distribution(1.0, lower=0.0))


class DriverModel(Model):
    """What pain points and delighters share: a label and their CX metric impacts."""

    @property
    def label(self) -> str:
        return self.name or self.id

    def metric_impacts(self) -> dict[str, float]:
        out = dict(self.impacts)
        if self.nps_impact is not None:
            out["nps"] = float(self.nps_impact)
        return out


class PainPoint(DriverModel):
    id: Identifier
    name: Text | None = None
    volume: ShareOrTable | None = None
    complaints: NonNeg | None = None
    severity: ShareDist
    complaint_rate: number_field(0.0, 1.0, strict_lower=True) | None = None
    nps_impact: Finite | None = None
    impacts: dict[str, Finite] = Field(default_factory=dict)
    owner: Text | None = None

    @model_validator(mode="after")
    def _volume(self) -> "PainPoint":
        if self.volume is None and self.complaints is None:
            raise ValueError("give 'volume' (share of customers exposed) or 'complaints' with 'complaint_rate'")
        if self.volume is not None and self.complaints is not None:
            raise ValueError("give 'volume' or 'complaints', not both")
        if self.complaints is not None and self.complaint_rate is None:
            raise ValueError("'complaints' needs 'complaint_rate' (volume = complaints / complaint_rate)")
        return self


class Delighter(DriverModel):
    id: Identifier
    name: Text | None = None
    reach: ShareOrTable
    lift: ShareDist
    nps_impact: Finite | None = None
    impacts: dict[str, Finite] = Field(default_factory=dict)


class ProcessMetric(Model):
    name: Text
    unit: str = ""
    baseline: Finite
    target: Finite


class Initiative(Model):
    id: Identifier
    name: Text | None = None
    owner: Text
    cost: AmountOrTable
    success_probability: Share = 1.0
    months_to_impact: NonNegDist = Field(default_factory=lambda: parse_distribution(0.0, lower=0.0))
    start_month: whole_number(0) = 0
    fixes: dict[str, ShareDist]
    segments: list[str] | None = None
    metric: ProcessMetric | None = None
    review: Text | None = None
    # operating savings once live: a year's amount, or per budget period (counted when delivered)
    savings: AmountOrTable | None = None

    @model_validator(mode="after")
    def _fixes(self) -> "Initiative":
        if not self.fixes:
            raise ValueError("'fixes' is empty: an initiative must act on at least one pain point or delighter")
        return self

    @property
    def label(self) -> str:
        return self.name or self.id

    def total_cost(self) -> float:
        return float(sum(self.cost.values())) if isinstance(self.cost, dict) else float(self.cost)


class Budget(Model):
    total: AmountOrTable | None = None
    max_initiatives: whole_number(1) = DEFAULT_MAX_INITIATIVES
    owner_capacity: whole_number(1) = 1
    # the first month of each budget period ("2027-07"): when its costs are spent (default: month 1)
    months: dict[str, StartDate] | None = None


class MetricLevel(Model):
    """A CX score the company watches (NPS, CSAT, CES or its own): today's level, its unit and
    direction. Drivers move it through their ``impacts`` (points an exposed or delighted
    customer's score moves); see :mod:`cxopt.engine.levels` for whom the level counts."""

    baseline: float
    unit: str = "points"
    higher_is_better: bool = True
    name: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _finite(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "baseline" in data:
            v = data["baseline"]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
                raise ValueError(f"baseline: expected a finite number (today's level), got {v!r}")
        return data


class Correlation(Model):
    initiatives: list[str]
    rho: Annotated[float, Field(ge=-1.0, le=1.0)]


class Constraints(Model):
    exclusive: list[list[str]] = Field(default_factory=list)
    requires: dict[str, str | list[str]] = Field(default_factory=dict)
    must: list[str] = Field(default_factory=list)
    forbid: list[str] = Field(default_factory=list)


class Scenario(Model):
    """A validated scenario. Build with :func:`load_scenario` or :func:`parse_scenario`."""

    scenario: ScenarioMeta = Field(default_factory=ScenarioMeta)
    customers: Customers
    market: Market = Field(default_factory=Market)
    pain_points: list[PainPoint] = Field(default_factory=list)
    delighters: list[Delighter] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)
    budget: Budget = Field(default_factory=Budget)
    constraints: Constraints = Field(default_factory=Constraints)
    correlations: list[Correlation] = Field(default_factory=list)
    metrics: dict[str, MetricLevel] = Field(default_factory=dict)

    source: str = Field(default="<scenario>", exclude=True)

    # -- convenience views -----------------------------------------------------------
    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def horizon_months(self) -> int:
        return self.scenario.horizon_months

    @property
    def drivers(self) -> list[PainPoint | Delighter]:
        """Pain points then delighters: position = bit of the exposure mask."""
        return [*self.pain_points, *self.delighters]

    @property
    def driver_ids(self) -> list[str]:
        return [d.id for d in self.drivers]

    @property
    def initiative_ids(self) -> list[str]:
        return [k.id for k in self.initiatives]

    @property
    def segment_ids(self) -> list[str]:
        """Declared segment ids; a synthetic base without segments has one, ``all``."""
        if self.customers.segments:
            return [s.id for s in self.customers.segments]
        return [] if self.customers.path else ["all"]

    def metric_names(self) -> list[str]:
        """The CX metrics: declared ones first, then any a driver's ``impacts`` names."""
        names = list(self.metrics)
        for d in self.drivers:
            names += [n for n in d.metric_impacts() if n not in names]
        return names

    def initiative(self, initiative_id: str) -> Initiative:
        for k in self.initiatives:
            if k.id == initiative_id:
                return k
        raise KeyError(initiative_id)

    def budget_periods(self) -> list[str]:
        """Names of the budget rows: ``["total"]`` or the periods of a per-period budget."""
        total = self.budget.total
        return list(total) if isinstance(total, dict) else ["total"]

    def period_month(self, period: str) -> int:
        """Month label (1..H) in which a budget period's costs are spent: ``[budget.months]``, else 1."""
        month = (self.budget.months or {}).get(period)
        start = self.scenario.start
        if month is None or start is None:
            return 1
        return (month.year - start.year) * 12 + month.month - start.month + 1

    def to_data(self) -> dict[str, Any]:
        """The scenario as plain data that :func:`parse_scenario` reads back to an equal scenario."""

        def plain(value: Any) -> Any:
            if isinstance(value, BaseModel):
                return {name: plain(getattr(value, name)) for name in type(value).model_fields
                        if name != "source" and getattr(value, name) is not None}
            if isinstance(value, Distribution):
                if value.is_fixed:
                    return float(value.params["value"])
                return {"dist": value.kind, **{k: float(v) for k, v in value.params.items()}}
            if isinstance(value, _dt.date):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items() if v is not None}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        return plain(self)

    def with_overrides(self, **changes: Any) -> "Scenario":
        """A copy with top-level sections replaced (validated objects only)."""
        return self.model_copy(update=changes)


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------
def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _clean_message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if msg == "Extra inputs are not permitted":
        return "unknown key (check the spelling; see DESIGN.md section 6 for the fields)"
    return msg


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file: TOML, or a workbook (``.xlsx``, see :mod:`cxopt.model.workbook`).

    Parameters
    ----------
    path : str or Path
        The scenario file. A relative ``[customers] path`` is resolved against the
        file's directory.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Every problem found, each naming the file, the field and the reason.
    """
    path = Path(path)
    source = str(path)
    if path.suffix.lower() == ".xlsx":  # the planner's workbook: same data, problems named by cell
        from cxopt.model.workbook import read_scenario_workbook

        return read_scenario_workbook(path, parse=parse_scenario)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(Problem(source, "", "no such file")) from None
    except OSError as exc:
        raise ScenarioError(Problem(source, "", f"cannot read: {exc.strerror}")) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(Problem(source, "", "not a UTF-8 text file")) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(Problem(source, "", f"not valid TOML: {exc}")) from None
    customers = data.get("customers")
    if isinstance(customers, dict) and isinstance(customers.get("path"), str) and customers["path"].strip():
        # (a blank path stays blank and is refused: joined to the folder it would read every file there)
        p = Path(customers["path"])
        if not p.is_absolute():
            customers["path"] = str((path.parent / p))
    return parse_scenario(data, source=source)


def _check_return_fields(sc: Scenario) -> list[Problem]:
    """``[budget.months]`` and per-period ``savings`` name budget periods; months lie in the horizon."""
    out: list[Problem] = []
    periods = sc.budget_periods()
    months = sc.budget.months or {}
    if months and sc.scenario.start is None:
        out.append(Problem(sc.source, "budget.months", "needs [scenario] start (the months are calendar months)"))
    start = sc.scenario.start
    for name, month in months.items():
        if name not in periods:
            out.append(Problem(sc.source, f"budget.months.{name}",
                               f"not a budget period (the budget's periods: {', '.join(periods)})"))
        elif start is not None:
            label = (month.year - start.year) * 12 + month.month - start.month + 1
            if not 1 <= label <= sc.horizon_months:
                out.append(Problem(sc.source, f"budget.months.{name}",
                                   f"{month:%Y-%m} lies outside the horizon ({start:%Y-%m} + "
                                   f"{sc.horizon_months} months)"))
    for k, init in enumerate(sc.initiatives):
        if isinstance(init.savings, dict):
            for name in init.savings:
                if name not in periods:
                    out.append(Problem(sc.source, f"initiatives[{k}].savings.{name}",
                                       f"not a budget period (the budget's periods: {', '.join(periods)})"))
    return out


def parse_scenario(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate an already-parsed mapping (the contents of a scenario file)."""
    if not isinstance(data, Mapping):
        raise ScenarioError(Problem(source, "", "a scenario must be a table"))
    # 'source' is where the data came from, not a scenario key: a file must not set it
    problems = []
    if "source" in data:
        problems.append(Problem(source, "source", _clean_message("Extra inputs are not permitted")))
    try:
        sc = Scenario.model_validate({**data, "source": source})
    except ValidationError as exc:
        problems += [Problem(source, _loc_to_path(e["loc"]), _clean_message(e["msg"])) for e in exc.errors()]
        raise ScenarioError(problems) from None
    problems += cross_check(sc) + _check_return_fields(sc)
    if problems:
        raise ScenarioError(problems)
    if sc.budget.max_initiatives > DEFAULT_MAX_INITIATIVES:
        warnings.warn(
            f"{source}: budget.max_initiatives = {sc.budget.max_initiatives} raises the focus limit "
            f"above {DEFAULT_MAX_INITIATIVES} on purpose",
            stacklevel=2,
        )
    return sc

