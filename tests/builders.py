"""The scenarios the tests build (DESIGN.md section 6), as plain data: one small valid
scenario, the parts to make others from, a way to change any field by the path the
validator reports it under, and the TOML text to write it to a file.

    data = scenario({"initiatives[0].cost": -1, "budget": {"total": 400}})
    path = write(tmp_path / "scenario.toml", data)

Every call returns a fresh copy: a test may change what it gets.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Mapping

from cxopt.model.toml_writer import dump_toml, toml_value

__all__ = [
    "ARTICLE", "B2B", "BUNDLED", "DROP", "REQUIRED", "ROOT", "SCENARIOS",
    "beta", "change", "delighter", "initiative", "lognormal", "pain_point", "pert", "required_only",
    "scenario", "to_toml", "triangular", "tweak", "uniform", "write",
]

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
ARTICLE = SCENARIOS / "bottom_up_article.toml"
B2B = SCENARIOS / "b2b_software.toml"
BUNDLED = sorted(SCENARIOS.glob("*.toml"))


# --------------------------------------------------------------------------------------
# distributions and parts
# --------------------------------------------------------------------------------------
def uniform(low: float, high: float) -> dict:
    return {"dist": "uniform", "low": low, "high": high}


def pert(low: float, mode: float, high: float) -> dict:
    return {"dist": "pert", "low": low, "mode": mode, "high": high}


def triangular(low: float, mode: float, high: float) -> dict:
    return {"dist": "triangular", "low": low, "mode": mode, "high": high}


def beta(mean: float, sd: float) -> dict:
    return {"dist": "beta", "mean": mean, "sd": sd}


def lognormal(median: float, sigma: float) -> dict:
    return {"dist": "lognormal", "median": median, "sigma": sigma}


def pain_point(id: str, volume: Any = 0.3, severity: Any = 0.1, **fields: Any) -> dict:
    return {"id": id, "volume": volume, "severity": severity, **fields}


def delighter(id: str, reach: Any = 0.25, lift: Any = 0.1, **fields: Any) -> dict:
    return {"id": id, "reach": reach, "lift": lift, **fields}


def initiative(id: str, fixes: Mapping[str, Any], *, owner: str | None = None, cost: Any = 1.0,
               **fields: Any) -> dict:
    """An initiative; its owner defaults to ``"owner of <id>"``. A field given as None is left out."""
    out = {"id": id, "owner": owner or f"owner of {id}", "cost": cost, "fixes": dict(fixes), **fields}
    return {k: v for k, v in out.items() if v is not None}


# --------------------------------------------------------------------------------------
# the small scenario
# --------------------------------------------------------------------------------------
# Two pain points and three initiatives, each with a process metric: go-live fixed at 3 and
# 2 months (known exactly) and one uncertain (1..8); a calendar start for the actuals.
_SMALL = {
    "scenario": {"name": "small", "trials": 500, "seed": 5, "horizon_months": 12, "start": "2027-01"},
    "customers": {"count": 20_000, "revenue": lognormal(700.0, 0.6), "baseline_churn": beta(0.07, 0.02)},
    "market": {"churn_multiplier": triangular(0.85, 1.0, 1.15)},
    "pain_points": [
        pain_point("billing_error", 0.3, pert(0.05, 0.12, 0.25)),
        pain_point("long_hold", 0.25, uniform(0.03, 0.1)),
    ],
    "initiatives": [
        initiative("first_call_fix", {"billing_error": uniform(0.3, 0.6)}, owner="Head of Billing", cost=300,
                   months_to_impact=3, success_probability=0.9,
                   metric={"name": "calls per adjustment", "baseline": 2.4, "target": 1.3}),
        initiative("virtual_hold", {"long_hold": uniform(0.3, 0.6)}, owner="Head of Contact Centre", cost=150,
                   months_to_impact=2, success_probability=0.8,
                   metric={"name": "speed of answer", "unit": "seconds", "baseline": 420, "target": 90}),
        initiative("billing_portal", {"billing_error": 0.2, "long_hold": 0.15}, owner="Head of Digital", cost=200,
                   months_to_impact=uniform(1, 8), success_probability=0.85,
                   metric={"name": "adjustments online", "unit": "%", "baseline": 0, "target": 35}),
    ],
}

# What section 6 requires of each part ("Required: ..."); everything else has a default.
REQUIRED = {
    "customers": {"count", "path"},
    "segments": {"id"},
    "pain_points": {"id", "volume", "complaints", "complaint_rate", "severity"},
    "delighters": {"id", "reach", "lift"},
    "initiatives": {"id", "owner", "cost", "fixes"},
}


def scenario(changes: Mapping[str, Any] | None = None, /, **sections: Any) -> dict:
    """The small scenario as plain data (a fresh copy).

    A keyword replaces a top-level section whole (``budget={"total": 500}``; ``market=DROP``
    removes one); ``changes`` then sets fields by path (see :func:`change`).
    """
    data = copy.deepcopy(_SMALL)
    for name, value in sections.items():
        if value is DROP:
            data.pop(name, None)
        else:
            data[name] = copy.deepcopy(value)
    return change(data, changes or {})


def required_only(data: Mapping[str, Any]) -> dict:
    """``data`` cut to what section 6 requires: only [customers] and the lists of parts, their
    required fields only (no [scenario], [market], [budget], names, probabilities, metrics)."""
    out: dict[str, Any] = {}
    customers = {k: v for k, v in data["customers"].items() if k in REQUIRED["customers"]}
    out["customers"] = customers
    for part in ("pain_points", "delighters", "initiatives"):
        if part in data:
            out[part] = [{k: copy.deepcopy(v) for k, v in item.items() if k in REQUIRED[part]}
                         for item in data[part]]
    return out


# --------------------------------------------------------------------------------------
# changing fields by path
# --------------------------------------------------------------------------------------
class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()  # as a value: remove the field
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    steps, end = [], 0
    for m in _STEP.finditer(path):
        gap = path[end:m.start()]
        if gap not in ("", "."):
            raise ValueError(f"bad field path {path!r}")
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        end = m.end()
    if not steps or end != len(path):
        raise ValueError(f"bad field path {path!r}")
    return steps


def tweak(data: dict, path: str, value: Any) -> dict:
    """Set the field at ``path`` (``initiatives[2].fixes.billing_error``, the validator's notation)
    to ``value`` in place, creating missing tables on the way (an index one past a list's end
    appends); ``DROP`` removes it. Returns ``data``."""
    *parents, last = _steps(path)
    node: Any = data
    for step in parents:
        if isinstance(step, str) and step not in node:
            node[step] = {}
        node = node[step]
    if value is DROP:
        del node[last]
    elif isinstance(node, list) and last == len(node):
        node.append(copy.deepcopy(value))  # one past the end: a new item
    else:
        node[last] = copy.deepcopy(value)
    return data


def change(data: dict, changes: Mapping[str, Any]) -> dict:
    """Apply ``{path: value}`` in order (see :func:`tweak`). Returns ``data``."""
    for path, value in changes.items():
        tweak(data, path, value)
    return data


# --------------------------------------------------------------------------------------
# to a file
# --------------------------------------------------------------------------------------
def to_toml(data: Mapping[str, Any]) -> str:
    """``data`` as a scenario file (cxopt's own writer; top-level values that are not tables,
    which a valid scenario has none of, come first so that a test can write them)."""
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping) or (
        isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v))}
    loose = [f"{k} = {toml_value(v)}" for k, v in data.items() if k not in tables]
    text = dump_toml(tables) if tables else ""
    return "\n".join(loose) + ("\n\n" if loose and text else "\n" if loose else "") + text


def write(path: Path, data: Mapping[str, Any] | str) -> Path:
    """Write ``data`` (plain data, or TOML text as it is) to ``path``; returns ``path``."""
    text = data if isinstance(data, str) else to_toml(data)
    path.write_text(text, encoding="utf-8")
    return path
