"""The scenario for people who live in spreadsheets: write a scenario (or the template, an
example row per sheet) as the workbook :mod:`cxopt.model.workbook` reads, write the commented
TOML template, and convert a scenario between the two formats without loss.

The sheets and columns come from :mod:`cxopt.model.workbook_schema`; each header carries a
comment saying what the column means, and data validation guards the enumerations and ranges.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any, Mapping

from openpyxl.worksheet.datavalidation import DataValidation

from cxopt.data.atomic import write_text_atomic
from cxopt.model.distributions import Distribution, parse_distribution
from cxopt.model.toml_writer import dump_toml, plain, wrap
from cxopt.model.workbook_schema import (DIST_COLUMNS, DIST_KINDS, EMPTY_TEXT, EXAMPLE, SHEETS, Column, Sheet,
                                         dist_params)
from cxopt.report.xlsx import fit_widths, header, new_workbook, put, save_workbook

__all__ = ["scenario_workbook", "write_scenario_workbook", "scenario_toml_template", "write_template",
           "convert_scenario", "scenario_data"]

_ROWS = 500  # rows the data validation covers below each header
_KEEP = {"scenario", "name", "currency", "horizon_months", "trials", "seed"}


def scenario_data(sc) -> dict:
    """A validated scenario as plain data, its fields as given (defaults it did not write left out;
    distributions as objects): what convert writes and plan.xlsx's Assumptions list."""
    return plain(sc, keep=_KEEP, as_given=True)


def _exact(value: Any) -> Any:
    """A number as the cell will hold it without loss: .xlsx files store 16 significant digits
    (openpyxl writes '%.16g'), so the rare float that needs 17 is written as its exact text,
    which the reader takes as that number."""
    if isinstance(value, float) and float(f"{value:.16g}") != value:
        return repr(value)
    return value


def _dist_cells(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Distribution):
        value = parse_distribution(value)
    if value.is_fixed:
        return {"value": _exact(float(value.params["value"]))}
    return {"dist": value.kind, **{k: _exact(float(v)) for k, v in value.params.items()}}


def _dist_about(about: str) -> dict[str, str]:
    kinds = "; ".join(f"{k}: " + " or ".join("(" + ", ".join(p) + ")" for p in dist_params(k))
                      for k in DIST_KINDS if k != "fixed")
    return {"value": f"{about}. A fixed number: 'value' only (leave 'dist' empty).",
            "dist": f"{about}. Uncertain: the distribution ({kinds}), with its parameters in their columns."}


def _text_cell(value: Any) -> Any:
    if value == "":  # given as empty, not left out
        return EMPTY_TEXT
    if isinstance(value, float):
        return _exact(value)
    if isinstance(value, _dt.date):
        return value.strftime("%Y-%m") if value.day == 1 else value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def _validate(ws, col: Column, ref: str) -> None:
    """Data validation for one column (``ref`` a range) from the column's kind and range."""
    dv = None
    if col.kind in ("choice", "boolean"):
        dv = DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True)
    elif col.kind in ("number", "integer") and (col.lower is not None or col.upper is not None):
        kind = "whole" if col.kind == "integer" else "decimal"
        if col.lower is not None and col.upper is not None:
            dv = DataValidation(type=kind, operator="between", formula1=str(col.lower), formula2=str(col.upper))
        elif col.lower is not None:
            dv = DataValidation(type=kind, operator="greaterThanOrEqual", formula1=str(col.lower))
        else:
            dv = DataValidation(type=kind, operator="lessThanOrEqual", formula1=str(col.upper))
    if dv is None:
        return
    dv.allow_blank = True
    dv.error, dv.errorTitle, dv.showErrorMessage = col.about, col.name, True
    ws.add_data_validation(dv)
    dv.add(ref)


def _dist_validation(ws, ref: str) -> None:
    dv = DataValidation(type="list", formula1='"' + ",".join(DIST_KINDS) + '"', allow_blank=True)
    dv.error, dv.errorTitle, dv.showErrorMessage = "one of " + ", ".join(DIST_KINDS), "dist", True
    ws.add_data_validation(dv)
    dv.add(ref)


def _fields_sheet(ws, spec: Sheet, section: Mapping) -> None:
    names = ["field", *DIST_COLUMNS, "about"]
    dist_about = _dist_about("the field's value")
    header(ws, names, ["the field (do not rename)", "the value (a fixed number, text, or a month as YYYY-MM)",
                       dist_about["dist"], *[f"parameter '{n}' of the distribution" for n in DIST_COLUMNS[2:]],
                       "what the field means"])
    col_of = {n: j for j, n in enumerate(names, start=1)}
    row = 1
    for col in spec.columns:
        value = section.get(col.name)
        entries = ([(f"{col.name}.{k}", v) for k, v in value.items()] if col.per_key and isinstance(value, Mapping)
                   else [(col.name, value)])
        for name, v in entries:
            row += 1
            put(ws, row, 1, name)
            put(ws, row, col_of["about"], col.about)
            if col.kind == "dist":
                for k, x in _dist_cells(v).items():
                    put(ws, row, col_of[k], x)
                _dist_validation(ws, f"C{row}")
            else:
                put(ws, row, col_of["value"], _text_cell(v))
                _validate(ws, col, f"B{row}")
    ws.freeze_panes = "B2"
    fit_widths(ws)


def _table_columns(spec: Sheet, items: list[Mapping]) -> list[tuple[str, Column]]:
    out = []
    for col in spec.columns:
        if col.kind == "dist":
            out += [(n, col) for n in DIST_COLUMNS]
            continue
        out.append((col.name, col))
        if col.per_key:
            keys: list[str] = []
            for item in items:
                value = item.get(col.name)
                if isinstance(value, Mapping):
                    keys += [k for k in value if k not in keys]
            out += [(f"{col.name}.{k}", col) for k in keys]
    return out


def _table_sheet(ws, spec: Sheet, items: list[Mapping]) -> None:
    columns = _table_columns(spec, items)
    comments = []
    for name, col in columns:
        if col.kind == "dist":
            about = _dist_about(col.about)
            comments.append(about.get(name, f"parameter '{name}' of the distribution ({col.about})"))
        else:
            comments.append(col.about + (" (required)" if col.required else ""))
    header(ws, [n for n, _ in columns], comments)
    for r, item in enumerate(items, start=2):
        dist_col = next((c for c in spec.columns if c.kind == "dist"), None)
        dcells = _dist_cells(item.get(dist_col.name)) if dist_col else {}
        for j, (name, col) in enumerate(columns, start=1):
            if col.kind == "dist":
                put(ws, r, j, dcells.get(name))
            elif "." in name:
                table = item.get(col.name)
                put(ws, r, j, _exact(table.get(name.split(".", 1)[1])) if isinstance(table, Mapping) else None)
            else:
                value = item.get(col.name)
                put(ws, r, j, None if isinstance(value, Mapping) else _text_cell(value))
    from openpyxl.utils import get_column_letter

    for j, (name, col) in enumerate(columns, start=1):
        letter = get_column_letter(j)
        if name == "dist":
            _dist_validation(ws, f"{letter}2:{letter}{_ROWS}")
        elif col.kind != "dist":
            _validate(ws, col, f"{letter}2:{letter}{_ROWS}")
    fit_widths(ws)


def _rows_by_sheet(data: Mapping) -> dict[str, list[dict]]:
    """The scenario data spread over the table sheets' rows."""
    customers = data.get("customers", {})
    rows: dict[str, list[dict]] = {"Segments": list(customers.get("segments", [])),
                                   "Pain points": [], "Delighters": [], "Initiatives": [], "Effects": [],
                                   "Costs": [], "Constraints": [], "Correlations": [], "Impacts": [],
                                   "Metrics": [{"metric": name, **level}
                                               for name, level in data.get("metrics", {}).items()]}
    for kind, sheet in (("pain_points", "Pain points"), ("delighters", "Delighters")):
        for d in data.get(kind, []):
            rows[sheet].append(d)
            rows["Impacts"] += [{"driver": d["id"], "metric": m, "impact": v} for m, v in d.get("impacts", {}).items()]
    for k in data.get("initiatives", []):
        item = {key: v for key, v in k.items() if key not in ("fixes", "metric")}
        metric = k.get("metric") or {}
        item.update({"metric": metric.get("name"), "metric_unit": metric.get("unit"),
                     "metric_baseline": metric.get("baseline"), "metric_target": metric.get("target")})
        if isinstance(k.get("cost"), Mapping):
            rows["Costs"] += [{"initiative": k["id"], "period": p, "amount": v} for p, v in k["cost"].items()]
            item.pop("cost")
        rows["Initiatives"].append(item)
        rows["Effects"] += [{"initiative": k["id"], "driver": d, "effect": v} for d, v in k.get("fixes", {}).items()]
    cons = data.get("constraints", {})
    for group in cons.get("exclusive", []):
        rows["Constraints"].append({"rule": "exclusive", "initiative": group[0] if group else None,
                                    "with": ", ".join(group[1:])})
    for a, b in cons.get("requires", {}).items():
        needs = b if isinstance(b, str) else ", ".join(b) + ("," if len(b) == 1 else "")
        rows["Constraints"].append({"rule": "requires", "initiative": a, "with": needs})
    for rule in ("must", "forbid"):
        rows["Constraints"] += [{"rule": rule, "initiative": k} for k in cons.get(rule, [])]
    rows["Correlations"] = [dict(c) for c in data.get("correlations", [])]
    return rows


def scenario_workbook(data: Mapping):
    """The scenario ``data`` (plain data or :func:`scenario_data`) as an openpyxl workbook."""
    wb = new_workbook()
    rows = _rows_by_sheet(data)
    sections = {"scenario": data.get("scenario", {}), "customers": data.get("customers", {}),
                "market": data.get("market", {}), "budget": data.get("budget", {})}
    for spec in SHEETS:
        ws = wb.create_sheet(spec.name)
        if spec.layout == "fields":
            _fields_sheet(ws, spec, sections[spec.section])
        else:
            _table_sheet(ws, spec, rows[spec.name])
    return wb


def write_scenario_workbook(data: Mapping, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write the scenario ``data`` as a workbook at ``path`` (atomically; never over a file without ``force``)."""
    return save_workbook(scenario_workbook(data), path, force=force)


def _template_comments() -> dict[tuple, list[str]]:
    out: dict[tuple, list[str]] = {}
    first_metric = next(iter(EXAMPLE["metrics"]))
    where = {"customers.segments": ("customers", "segments", 0), "pain_points": ("pain_points", 0),
             "delighters": ("delighters", 0), "initiatives": ("initiatives", 0),
             "correlations": ("correlations", 0), "metrics": ("metrics", first_metric)}
    for spec in SHEETS:
        if spec.layout == "fields":
            base = (spec.section,)
        elif spec.section in where:
            base = where[spec.section]
        else:
            continue
        head = (spec.section,) if spec.section == "metrics" else base
        out[head] = wrap(f"{spec.name} sheet in a workbook: {spec.about}", 86)
        for col in spec.columns:
            if not col.name.startswith("metric_") and not (spec.section == "metrics" and col.name == "metric"):
                out.setdefault(base + (col.name,), []).extend(wrap(col.about, 86))
    out[("metrics",)] += wrap("One [metrics.<name>] table per metric; the name (e.g. csat) is an identifier, "
                              "not churn or retained_revenue.", 86)
    init = ("initiatives", 0)
    out[init + ("fixes",)] = wrap("{ driver = effect }: share of the pain's churn removed, or of the "
                                  "delighter's eligible reached (Effects sheet)", 86)
    out[init + ("cost",)] = wrap("a total, or { period = amount } over the budget's periods (Costs sheet)", 86)
    out[init + ("metric",)] = ["the process metric its owner moves: name, unit, baseline, target"]
    out[init + ("savings",)] = wrap("operating savings once live (>= 0): a year's amount, or { period = amount } "
                                    "over the budget's periods, counted when delivered (Initiatives sheet: "
                                    "savings or savings.<period> columns)", 86)
    out[("pain_points", 0, "impacts")] = wrap("{ metric = points } a CX metric moves among exposed customers "
                                              "(Impacts sheet); nps_impact is the same as nps here", 86)
    out[("delighters", 0, "impacts")] = wrap("{ metric = points } a CX metric moves among those reached "
                                             "(Impacts sheet)", 86)
    out[("budget", "months")] = wrap("{ period = \"YYYY-MM\" }: the first month of each budget period, when its "
                                     "costs are spent (needs [scenario] start; Budget sheet: months.<period> rows)", 86)
    out[("constraints",)] = wrap("exclusive = [[a, b]], requires = { a = b }, must = [a], forbid = [b] "
                                 "(Constraints sheet)", 86)
    return out


def scenario_toml_template() -> str:
    """The template as a commented TOML scenario (the same example as the workbook template)."""
    head = ["A cxopt scenario (DESIGN.md section 6): replace the example values with your own.",
            "Uncertain values: a number, or { dist = \"pert\", low = .., mode = .., high = .. } (also "
            "uniform, triangular, beta, lognormal, normal).",
            "Check it with: cxopt validate THIS_FILE"]
    return dump_toml(EXAMPLE, _template_comments(), head)


def write_template(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write the scenario template at ``path``: a workbook (``.xlsx``) or a commented TOML file."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return write_scenario_workbook(EXAMPLE, path, force=force)
    return write_text_atomic(path, scenario_toml_template(), force=force)


def workbook_losses(sc, data: dict) -> list[str]:
    """The fields of ``sc`` a workbook written from ``data`` would not give back (dotted, top two levels)."""
    import tempfile

    from cxopt.model.scenario import load_scenario

    with tempfile.TemporaryDirectory(prefix="cxopt-roundtrip-") as tmp:
        probe = Path(tmp) / "probe.xlsx"
        write_scenario_workbook(data, probe)
        back = load_scenario(probe).to_data()
    original = sc.to_data()
    lost = []
    for key in sorted(set(original) | set(back)):
        a, b = original.get(key), back.get(key)
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                if x != y:
                    fields = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k)) if isinstance(x, dict) else []
                    lost += [f"{key}[{i}].{f}" for f in fields] or [f"{key}[{i}]"]
        elif isinstance(a, dict) and isinstance(b, dict):
            lost += [f"{key}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        else:
            lost.append(key)
    return lost


def convert_scenario(source: str | os.PathLike, out: str | os.PathLike, *, force: bool = False) -> Path:
    """Read the scenario ``source`` (TOML or workbook), validate it, and write it to ``out`` in the
    format its suffix names (``.xlsx`` or ``.toml``); a customer-file path is kept pointing at
    the same file. The written file reads back to an equal scenario."""
    from cxopt.model.scenario import load_scenario

    sc = load_scenario(source)
    out = Path(out)
    data = scenario_data(sc)
    path = data.get("customers", {}).get("path")
    if path is not None:
        data["customers"]["path"] = os.path.relpath(path, os.path.abspath(out.parent))
    if out.suffix.lower() == ".xlsx":
        lost = workbook_losses(sc, data)
        if lost:  # never a silent loss: the workbook schema does not hold these fields yet
            from cxopt.errors import Problem, ScenarioError

            raise ScenarioError([Problem(str(source), field, "a scenario workbook cannot hold this field yet; "
                                                             "keep this scenario in TOML") for field in lost])
        return write_scenario_workbook(data, out, force=force)
    header_lines = [f"Converted by cxopt from {Path(source).name}."]
    return write_text_atomic(out, dump_toml(data, {}, header_lines), force=force)
