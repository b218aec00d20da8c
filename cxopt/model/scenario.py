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
import math
import tomllib
import warnings
from pathlib import Path
from typing import Annotated, Any, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from cxopt.model.distributions import Distribution, DistributionError, parse_distribution

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

MAX_DRIVERS = 62  # bits of the exposure mask (pain points + delighters)
DEFAULT_TRIALS = 10_000
DEFAULT_SEED = 20261122
DEFAULT_MAX_INITIATIVES = 5


# --------------------------------------------------------------------------------------
# field types
# --------------------------------------------------------------------------------------
def _dist(lower: float, upper: float):
    def convert(value: Any) -> Distribution:
        try:
            return parse_distribution(value, lower=lower, upper=upper)
        except DistributionError as exc:
            raise ValueError(str(exc)) from None

    return Annotated[Distribution, BeforeValidator(convert)]


ShareDist = _dist(0.0, 1.0)
NonNegDist = _dist(0.0, math.inf)


def _number(lower: float = -math.inf, upper: float = math.inf, *, strict_lower: bool = False):
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        if value < lower or (strict_lower and value == lower) or value > upper:
            low = f"({lower:g}" if strict_lower else f"[{lower:g}"
            raise ValueError(f"must lie in {low}, {upper:g}], got {value:g}")
        return value

    return Annotated[float, BeforeValidator(convert)]


Share = _number(0.0, 1.0)
NonNeg = _number(0.0)
Positive = _number(0.0, strict_lower=True)


def _share_or_table(value: Any) -> float | dict[str, float]:
    """A share, or a table ``{segment: share}``."""
    if isinstance(value, Mapping):
        out = {}
        for key, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"share for segment {key!r} must be a number in [0, 1], got {v!r}")
            out[str(key)] = float(v)
        if not out:
            raise ValueError("an empty table: give a share, or one per segment")
        return out
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a share in [0, 1] or a table {{segment = share}}, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"must lie in [0, 1], got {value!r}")
    return float(value)


ShareOrTable = Annotated[float | dict[str, float], BeforeValidator(_share_or_table)]


def _amount_or_table(value: Any) -> float | dict[str, float]:
    """An amount >= 0, or a table ``{period: amount}``."""
    if isinstance(value, Mapping):
        out = {}
        for key, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"amount for {key!r} must be a number >= 0, got {v!r}")
            out[str(key)] = float(v)
        if not out:
            raise ValueError("an empty table: give an amount, or one per period")
        return out
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"expected an amount or a table {{period = amount}}, got {value!r}")
    if value < 0:
        raise ValueError(f"must be >= 0, got {value:g}")
    return float(value)


AmountOrTable = Annotated[float | dict[str, float], BeforeValidator(_amount_or_table)]


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty text identifier, got {value!r}")
    if any(c.isspace() for c in value) or "." in value:
        raise ValueError(f"an id may not contain spaces or dots, got {value!r}")
    return value


Identifier = Annotated[str, BeforeValidator(_identifier)]


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected non-empty text, got {value!r}")
    return value.strip()


Text = Annotated[str, BeforeValidator(_text)]


def _month_start(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%Y-%m"):
            try:
                return _dt.datetime.strptime(value, fmt).date()
            except ValueError:
                pass
    raise ValueError(f"expected a date (2027-01-01 or \"2027-01\"), got {value!r}")


StartDate = Annotated[_dt.date, BeforeValidator(_month_start)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


# --------------------------------------------------------------------------------------
# the schema
# --------------------------------------------------------------------------------------
class ScenarioMeta(_Model):
    name: Text = "Unnamed scenario"
    currency: Text = "USD"
    horizon_months: Annotated[int, Field(ge=1, le=120)] = 12
    trials: Annotated[int, Field(ge=1)] = DEFAULT_TRIALS
    seed: Annotated[int, Field(ge=0, lt=2**63)] = DEFAULT_SEED
    start: StartDate | None = None
    description: str | None = None


class Segment(_Model):
    id: Identifier
    name: Text | None = None
    share: Share | None = None
    revenue_multiplier: Positive = 1.0
    baseline_churn: ShareDist | None = None  # overrides [customers] baseline_churn

    @property
    def label(self) -> str:
        return self.name or self.id


class Customers(_Model):
    count: Annotated[int, Field(ge=1)] | None = None
    path: Text | None = None
    revenue: NonNegDist = Field(default_factory=lambda: parse_distribution(1.0, lower=0.0))
    baseline_churn: ShareDist = Field(default_factory=lambda: parse_distribution(0.1, lower=0.0, upper=1.0))
    exposure_correlation: Annotated[float, Field(ge=0.0, le=0.99)] = 0.0
    segments: list[Segment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _count_or_path(self) -> "Customers":
        if self.count is None and self.path is None:
            raise ValueError("give either 'count' (a synthetic base) or 'path' (a customer file)")
        if self.count is not None and self.path is not None:
            raise ValueError("give either 'count' or 'path', not both")
        return self


class Market(_Model):
    churn_multiplier: NonNegDist = Field(default_factory=lambda: parse_distribution(1.0, lower=0.0))


class PainPoint(_Model):
    id: Identifier
    name: Text | None = None
    volume: ShareOrTable | None = None
    complaints: NonNeg | None = None
    severity: ShareDist
    complaint_rate: _number(0.0, 1.0, strict_lower=True) | None = None
    nps_impact: float | None = None
    impacts: dict[str, float] = Field(default_factory=dict)
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

    @property
    def label(self) -> str:
        return self.name or self.id

    def metric_impacts(self) -> dict[str, float]:
        out = dict(self.impacts)
        if self.nps_impact is not None:
            out["nps"] = float(self.nps_impact)
        return out


class Delighter(_Model):
    id: Identifier
    name: Text | None = None
    reach: ShareOrTable
    lift: ShareDist
    nps_impact: float | None = None
    impacts: dict[str, float] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name or self.id

    def metric_impacts(self) -> dict[str, float]:
        out = dict(self.impacts)
        if self.nps_impact is not None:
            out["nps"] = float(self.nps_impact)
        return out


class ProcessMetric(_Model):
    name: Text
    unit: str = ""
    baseline: float
    target: float


class Initiative(_Model):
    id: Identifier
    name: Text | None = None
    owner: Text
    cost: AmountOrTable
    success_probability: Share = 1.0
    months_to_impact: NonNegDist = Field(default_factory=lambda: parse_distribution(0.0, lower=0.0))
    start_month: Annotated[int, Field(ge=0)] = 0
    fixes: dict[str, ShareDist]
    segments: list[str] | None = None
    metric: ProcessMetric | None = None
    review: Text | None = None

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


class Budget(_Model):
    total: AmountOrTable | None = None
    max_initiatives: Annotated[int, Field(ge=1)] = DEFAULT_MAX_INITIATIVES
    owner_capacity: Annotated[int, Field(ge=1)] = 1


class Correlation(_Model):
    initiatives: list[str]
    rho: Annotated[float, Field(ge=-1.0, le=1.0)]


class Constraints(_Model):
    exclusive: list[list[str]] = Field(default_factory=list)
    requires: dict[str, str | list[str]] = Field(default_factory=dict)
    must: list[str] = Field(default_factory=list)
    forbid: list[str] = Field(default_factory=list)


class Scenario(_Model):
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

    def initiative(self, initiative_id: str) -> Initiative:
        for k in self.initiatives:
            if k.id == initiative_id:
                return k
        raise KeyError(initiative_id)

    def budget_periods(self) -> list[str]:
        """Names of the budget rows: ``["total"]`` or the periods of a per-period budget."""
        total = self.budget.total
        return list(total) if isinstance(total, dict) else ["total"]

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
    """Read and validate a TOML scenario file.

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
    if isinstance(customers, dict) and isinstance(customers.get("path"), str):
        p = Path(customers["path"])
        if not p.is_absolute():
            customers["path"] = str((path.parent / p))
    return parse_scenario(data, source=source)


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
    problems += _cross_check(sc)
    if problems:
        raise ScenarioError(problems)
    if sc.budget.max_initiatives > DEFAULT_MAX_INITIATIVES:
        warnings.warn(
            f"{source}: budget.max_initiatives = {sc.budget.max_initiatives} raises the focus limit "
            f"above {DEFAULT_MAX_INITIATIVES} on purpose",
            stacklevel=2,
        )
    return sc


def _cross_check(sc: Scenario) -> list[Problem]:
    """The rules pydantic cannot express; all problems, in file order."""
    src = sc.source
    out: list[Problem] = []

    def bad(path: str, reason: str) -> None:
        out.append(Problem(src, path, reason))

    # segments
    segs = sc.customers.segments
    seg_ids = [s.id for s in segs]
    _duplicates(seg_ids, "customers.segments", bad)
    if segs:
        shares = [s.share for s in segs]
        if sc.customers.path is None:
            if any(s is None for s in shares):
                for i, s in enumerate(segs):
                    if s.share is None:
                        bad(f"customers.segments[{i}].share", "a synthetic base needs every segment's share")
            elif abs(sum(shares) - 1.0) > 1e-6:
                bad("customers.segments", f"segment shares must sum to 1, got {sum(shares):.6g}")
    known_segments = set(seg_ids) if segs else ({"all"} if sc.customers.path is None else None)

    # drivers
    driver_ids = sc.driver_ids
    if len(driver_ids) > MAX_DRIVERS:
        bad("pain_points", f"at most {MAX_DRIVERS} pain points and delighters together, got {len(driver_ids)}")
    seen: dict[str, str] = {}
    for i, p in enumerate(sc.pain_points):
        if p.id in seen:
            bad(f"pain_points[{i}].id", f"duplicate id {p.id!r} (also {seen[p.id]})")
        seen.setdefault(p.id, f"pain_points[{i}]")
    for i, d in enumerate(sc.delighters):
        if d.id in seen:
            bad(f"delighters[{i}].id", f"duplicate id {d.id!r} (also {seen[d.id]})")
        seen.setdefault(d.id, f"delighters[{i}]")
    for kind, items, attr in (("pain_points", sc.pain_points, "volume"), ("delighters", sc.delighters, "reach")):
        for i, d in enumerate(items):
            value = getattr(d, attr)
            if isinstance(value, dict):
                _check_segment_table(value, known_segments, f"{kind}[{i}].{attr}", bad, complete=True)
    count = sc.customers.count
    for i, p in enumerate(sc.pain_points):
        if p.complaints is not None:
            if count is None:
                continue  # measured from the customer file
            volume = p.complaints / p.complaint_rate / count
            if volume > 1.0:
                bad(
                    f"pain_points[{i}].complaints",
                    f"complaints / complaint_rate = {p.complaints / p.complaint_rate:,.0f} exposed customers "
                    f"exceeds the {count:,} customers",
                )

    # initiatives
    init_ids = sc.initiative_ids
    _duplicates(init_ids, "initiatives", bad)
    periods = sc.budget_periods() if isinstance(sc.budget.total, dict) else None
    for i, k in enumerate(sc.initiatives):
        for driver in k.fixes:
            if driver not in seen:
                bad(f"initiatives[{i}].fixes.{driver}", f"unknown pain point or delighter {driver!r}")
        if k.segments is not None:
            if not k.segments:
                bad(f"initiatives[{i}].segments", "an empty list targets nobody; omit it to target every segment")
            for j, s in enumerate(k.segments):
                if known_segments is not None and s not in known_segments:
                    bad(f"initiatives[{i}].segments[{j}]", f"unknown segment {s!r} (known: {', '.join(sorted(known_segments))})")
        if isinstance(k.cost, dict) and periods is not None:
            for name in k.cost:
                if name not in periods:
                    bad(f"initiatives[{i}].cost.{name}", f"the budget has no period {name!r} (periods: {', '.join(periods)})")
        elif periods is not None:
            bad(f"initiatives[{i}].cost", "the budget is per period: give this cost per period too, "
                                          f"e.g. {{ {periods[0]} = {k.cost:g} }}")
        if k.start_month >= sc.horizon_months:
            bad(f"initiatives[{i}].start_month", f"starts after the {sc.horizon_months}-month horizon")

    # correlations between initiative effects
    for i, c in enumerate(sc.correlations):
        for j, name in enumerate(c.initiatives):
            if name not in init_ids:
                bad(f"correlations[{i}].initiatives[{j}]", f"unknown initiative {name!r}")
        n = len(c.initiatives)
        if n < 2:
            bad(f"correlations[{i}].initiatives", "name at least two initiatives")
        elif c.rho < -1.0 / (n - 1):
            bad(f"correlations[{i}].rho", f"an equicorrelation among {n} initiatives must be >= {-1.0 / (n - 1):.4g}")

    # constraints
    cons = sc.constraints
    known = set(init_ids)
    for i, group in enumerate(cons.exclusive):
        if len(group) < 2:
            bad(f"constraints.exclusive[{i}]", "an exclusion needs at least two initiatives")
        for j, name in enumerate(group):
            if name not in known:
                bad(f"constraints.exclusive[{i}][{j}]", f"unknown initiative {name!r}")
    for a, bs in cons.requires.items():
        if a not in known:
            bad(f"constraints.requires.{a}", f"unknown initiative {a!r}")
        for b in [bs] if isinstance(bs, str) else bs:
            if b not in known:
                bad(f"constraints.requires.{a}", f"unknown initiative {b!r}")
            elif b == a:
                bad(f"constraints.requires.{a}", "an initiative cannot require itself")
    for name in ("must", "forbid"):
        for j, k in enumerate(getattr(cons, name)):
            if k not in known:
                bad(f"constraints.{name}[{j}]", f"unknown initiative {k!r}")
    both = set(cons.must) & set(cons.forbid)
    for k in sorted(both):
        bad("constraints", f"initiative {k!r} is both in 'must' and in 'forbid'")
    return out


def _duplicates(ids: list[str], path: str, bad) -> None:
    first: dict[str, int] = {}
    for i, x in enumerate(ids):
        if x in first:
            bad(f"{path}[{i}].id", f"duplicate id {x!r} (also {path}[{first[x]}])")
        first.setdefault(x, i)


def _check_segment_table(table: dict[str, float], known: set[str] | None, path: str, bad, *, complete: bool) -> None:
    if known is None:
        return  # segments come from the customer file; checked when it is read
    for key in table:
        if key not in known:
            bad(f"{path}.{key}", f"unknown segment {key!r} (known: {', '.join(sorted(known))})")
    if complete:
        missing = [s for s in sorted(known) if s not in table]
        if missing:
            bad(path, f"no value for segment(s) {', '.join(missing)}")
