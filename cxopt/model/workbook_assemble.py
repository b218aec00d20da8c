"""Join the scenario workbook's sheets into one scenario mapping: effects, costs per period and
metric impacts go to their initiative or driver, constraint rows to the ``[constraints]``
table, and every field path keeps the cell it came from (for error messages)."""

from __future__ import annotations

from typing import Any

from cxopt.model.workbook_schema import SHEET_BY_NAME

__all__ = ["assemble"]

_METRIC = {"metric": "name", "metric_unit": "unit", "metric_baseline": "baseline", "metric_target": "target"}


def assemble(r, sheets: dict) -> dict:
    """The scenario data of the sheets ``{name: worksheet}`` read with the reader ``r``
    (:class:`cxopt.model.workbook._Reader`: its ``where``, ``bad``, ``fields_sheet``, ``table_sheet``)."""
    where = r.where

    def fields(name: str) -> dict:
        spec = SHEET_BY_NAME[name]
        if name not in sheets:
            where.setdefault(spec.section, name)
            return {}
        return r.fields_sheet(sheets[name], spec)

    def table(name: str, path_of) -> list[tuple[int, dict, dict[str, tuple[str, Any]]]]:
        if name not in sheets:
            return []
        return r.table_sheet(sheets[name], SHEET_BY_NAME[name], path_of)

    def alias(new: str, old: str) -> None:
        if old in where:
            where[new] = where[old]

    data: dict = {}
    meta = fields("Scenario")
    customers = fields("Customers")
    segments = table("Segments", lambda i: f"customers.segments[{i}]")
    if segments:
        customers["segments"] = [item for _, item, _ in segments]
    market = fields("Market")
    pains = table("Pain points", lambda i: f"pain_points[{i}]")
    delighters = table("Delighters", lambda i: f"delighters[{i}]")
    drivers = {}
    for kind, rows in (("pain_points", pains), ("delighters", delighters)):
        for i, (_, item, _) in enumerate(rows):
            drivers.setdefault(item.get("id"), (f"{kind}[{i}]", item))
    metrics = _metrics(r, table("Metrics", lambda i: f"metrics[{i}]"))
    for _, item, cells in table("Impacts", lambda i: f"impacts[{i}]"):
        driver, metric = item.get("driver"), item.get("metric")
        if driver not in drivers:
            if driver is not None:
                r.bad(cells["driver"][0], f"unknown pain point or delighter {driver!r}")
            continue
        base, target = drivers[driver]
        if metric in target.setdefault("impacts", {}):
            r.bad(cells["metric"][0], f"the impact of {driver!r} on {metric!r} is given twice")
        if "impact" in item:
            target["impacts"][metric] = item["impact"]
            where[f"{base}.impacts.{metric}"] = cells["impact"][0]
    initiatives = table("Initiatives", lambda i: f"initiatives[{i}]")
    by_id = {}
    for i, (_, item, _) in enumerate(initiatives):
        base = f"initiatives[{i}]"
        by_id.setdefault(item.get("id"), (base, item))
        metric = {_METRIC[k]: item.pop(k) for k in list(_METRIC) if k in item}
        for k, v in _METRIC.items():
            alias(f"{base}.metric.{v}", f"{base}.{k}")
        if metric:
            item["metric"] = metric
        item["fixes"] = {}

    def initiative_of(row_item: dict, cells: dict) -> tuple[str, dict] | None:
        kid = row_item.get("initiative")
        if kid is None:
            return None
        if kid not in by_id:
            r.bad(cells["initiative"][0], f"unknown initiative {kid!r} (not on the Initiatives sheet)")
            return None
        return by_id[kid]

    for n, (_, item, cells) in enumerate(table("Effects", lambda i: f"effects[{i}]")):
        found = initiative_of(item, cells)
        driver = item.get("driver")
        if found is None or driver is None:
            continue
        base, target = found
        if driver in target["fixes"]:
            r.bad(cells["driver"][0], f"the effect of {target['id']!r} on {driver!r} is given twice")
            continue
        target["fixes"][driver] = item.get("effect")
        alias(f"{base}.fixes.{driver}", f"effects[{n}].effect")
        where[f"{base}.fixes.{driver}#id"] = cells["driver"][0]
    for _, item, cells in table("Costs", lambda i: f"costs[{i}]"):
        found = initiative_of(item, cells)
        period = item.get("period")
        if found is None or period is None or "amount" not in item:
            continue
        base, target = found
        if not isinstance(target.get("cost", {}), dict):
            r.bad(cells["period"][0], f"{target['id']!r} has a total cost on the Initiatives sheet: give "
                                      "it there or per period here, not both")
            continue
        costs = target.setdefault("cost", {})
        if period in costs:
            r.bad(cells["period"][0], f"the cost of {target['id']!r} in {period!r} is given twice")
        costs[period] = item["amount"]
        where.setdefault(f"{base}.cost", cells["amount"][0])
        where[f"{base}.cost.{period}"] = cells["amount"][0]
    budget = fields("Budget")
    constraints = _constraints(r, table("Constraints", lambda i: f"constraint_rows[{i}]"))
    correlations = table("Correlations", lambda i: f"correlations[{i}]")

    for key, value in (("scenario", meta), ("customers", customers), ("market", market), ("metrics", metrics),
                       ("pain_points", [x for _, x, _ in pains]), ("delighters", [x for _, x, _ in delighters]),
                       ("initiatives", [x for _, x, _ in initiatives]), ("budget", budget),
                       ("constraints", constraints), ("correlations", [x for _, x, _ in correlations])):
        if value:
            data[key] = value
    return data


def _metrics(r, rows) -> dict:
    """The ``[metrics.<name>]`` tables from rows ``metric | name | baseline | unit | higher_is_better``;
    each field's cell is recorded under ``metrics.<name>.<field>``."""
    where = r.where
    out: dict = {}
    for i, (_, item, cells) in enumerate(rows):
        name = item.pop("metric", None)
        if name is None:  # a missing column was named at the header; an empty cell is named here
            if "metric" in cells and cells["metric"][1] is None:
                r.bad(cells["metric"][0], "required, but missing: the metric's name (e.g. csat)")
            continue
        if name in out:
            r.bad(cells["metric"][0], f"the metric {name!r} is given twice")
            continue
        out[name] = item
        for key in [k for k in where if k == f"metrics[{i}]" or k.startswith(f"metrics[{i}].")]:
            where[f"metrics.{name}" + key[len(f"metrics[{i}]"):]] = where[key]
        where[f"metrics.{name}"] = cells["metric"][0]
    return out


def _constraints(r, rows) -> dict:
    """The ``[constraints]`` table from rows ``rule | initiative | with``."""
    where = r.where
    out: dict = {}
    for _, item, cells in rows:
        rule, kid = item.get("rule"), item.get("initiative")
        if rule is None or kid is None:  # a bad rule was reported when read; a missing one is named here
            if kid is not None and "rule" in cells and cells["rule"][1] is None:
                r.bad(cells["rule"][0], "give the rule: exclusive, requires, must or forbid")
            continue
        at = cells["initiative"][0]
        with_cell = cells.get("with", (at, None))
        others = item.get("with", [])
        if rule == "exclusive":
            n = len(out.setdefault("exclusive", []))
            out["exclusive"].append([kid, *others])
            where[f"constraints.exclusive[{n}]"] = at
            where[f"constraints.exclusive[{n}][0]"] = at
            for j in range(len(others)):
                where[f"constraints.exclusive[{n}][{j + 1}]"] = with_cell[0]
        elif rule == "requires":
            needs = out.setdefault("requires", {})
            if kid in needs:
                r.bad(at, f"{kid!r} has two 'requires' rows: list what it needs in one, comma-separated")
                continue
            if not others:
                r.bad(with_cell[0], "a 'requires' rule needs the initiative it requires in 'with'")
                continue
            keep_list = len(others) > 1 or str(with_cell[1]).rstrip().endswith(",")
            needs[kid] = list(others) if keep_list else others[0]
            where[f"constraints.requires.{kid}"] = at
        else:
            if others:
                r.bad(with_cell[0], f"a {rule!r} rule takes no 'with'")
            n = len(out.setdefault(rule, []))
            out[rule].append(kid)
            where[f"constraints.{rule}[{n}]"] = at
        where.setdefault("constraints", at)
    return out
