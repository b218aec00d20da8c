"""The scenario as a workbook: read the sheets :mod:`cxopt.model.workbook_schema` describes into
the mapping a TOML file gives, validate it with :func:`parse_scenario`, and name the cell of
every problem (``scenario.xlsx: Initiatives!D7: reason``), all at once.

Cells typed as text, number or date all read; a formula is read by the value Excel saved with
it, or refused naming the cell (a workbook written by a program and never opened in Excel has
no saved values).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import zipfile
from pathlib import Path
from typing import Any, Callable

from cxopt.errors import Problem, ScenarioError
from cxopt.model.workbook_schema import DIST_COLUMNS, EMPTY_TEXT, SHEET_BY_NAME, SHEETS, Sheet

__all__ = ["read_scenario_workbook", "workbook_data", "cell_name", "cell_value", "open_workbook"]


def cell_name(sheet: str, coordinate: str) -> str:
    """``Initiatives!D7``; a sheet name with spaces quoted as Excel writes it (``'Pain points'!D7``)."""
    name = f"'{sheet}'" if not sheet.replace("_", "").isalnum() else sheet
    return f"{name}!{coordinate}"


def open_workbook(path: Path, source: str, error: type):
    """The workbook at ``path`` (openpyxl, formulas as written), or ``error`` naming the file."""
    import openpyxl

    try:
        return openpyxl.load_workbook(path, data_only=False)
    except FileNotFoundError:
        raise error(Problem(source, "", "no such file")) from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise error(Problem(source, "", f"cannot read as an .xlsx workbook: {exc}")) from None


class _Saved:
    """The values Excel saved with formula cells (a second, value-only read, done on first need)."""

    def __init__(self, path: Path):
        self.path, self.book = path, None

    def __call__(self, sheet: str, coordinate: str) -> Any:
        if self.book is None:
            import openpyxl

            self.book = openpyxl.load_workbook(self.path, data_only=True)
        return self.book[sheet][coordinate].value


def cell_value(cell, sheet: str, saved) -> tuple[Any, str | None]:
    """A cell's value (text stripped, ``None`` when empty) and a reason when it cannot be read."""
    value = cell.value
    if cell.data_type == "f" or type(value).__name__ in ("ArrayFormula", "DataTableFormula"):
        value = saved(sheet, cell.coordinate)
        if value is None:
            return None, ("a formula without a saved value: type the value, or open and save the "
                          "workbook in Excel so that its result is stored")
    if isinstance(value, str):
        value = value.strip()
        return (value or None), None
    return value, None


def _number(value: Any) -> float | int:
    if isinstance(value, bool) or isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return value
    try:
        x = float(str(value).replace("_", ""))
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None
    return int(x) if x.is_integer() and "." not in str(value) and "e" not in str(value).lower() else x


def _text(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(f"expected text, got {value!r}")
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _convert(kind: str, value: Any, choices: tuple[str, ...] = ()) -> Any:
    if kind == "text":
        text = _text(value)
        return "" if text == EMPTY_TEXT else text
    if kind == "id":
        return _text(value)
    if kind == "number":
        return _number(value)
    if kind == "integer":
        x = _number(value)
        if isinstance(x, float) and not (math.isfinite(x) and x.is_integer()):
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(x)
    if kind == "date":
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        if isinstance(value, str):
            return value
        raise ValueError(f"expected a month as text YYYY-MM (e.g. 2027-01), got {value!r}")
    if kind == "ids":
        return [x.strip() for x in _text(value).split(",") if x.strip()]
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = _text(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(f"expected TRUE or FALSE, got {value!r}")
    if kind == "choice":
        text = _text(value).lower()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return text
    raise AssertionError(kind)


class _Reader:
    """Reads the sheets into scenario data, recording the cell of every field path."""

    def __init__(self, path: Path, source: str):
        self.path, self.source = path, source
        self.problems: list[Problem] = []
        self.where: dict[str, str] = {}  # field path -> cell
        self.saved = _Saved(path)

    def bad(self, cell: str, reason: str) -> None:
        self.problems.append(Problem(self.source, cell, reason))

    # -- cells ---------------------------------------------------------------------------
    def rows(self, ws, spec: Sheet) -> tuple[dict[str, str], list[tuple[int, dict[str, tuple[str, Any]]]]]:
        """The header (column name -> letter) and the non-empty rows ``(row, {column: (cell, value)})``."""
        header: dict[str, str] = {}
        has_dist = any(c.kind == "dist" for c in spec.columns)
        allowed = {c.name for c in spec.columns if c.kind != "dist"} | (set(DIST_COLUMNS) if has_dist else set())
        if spec.layout == "fields":
            allowed = {"field", "about", *DIST_COLUMNS}
        for cell in next(ws.iter_rows(min_row=1, max_row=1), ()):
            name, why = cell_value(cell, ws.title, self.saved)
            where = cell_name(ws.title, cell.coordinate)
            if why:
                self.bad(where, why)
            if name is None:
                continue
            name = _text(name)
            known = name in allowed or (spec.layout == "table" and spec.column(name) is not None
                                        and spec.column(name).per_key)
            if not known:
                self.bad(where, f"unknown column {name!r} (expected {', '.join(sorted(allowed))})")
            elif name in header:
                self.bad(where, f"the column {name!r} is given twice")
            else:
                header[name] = cell.column_letter
        out = []
        by_letter = {letter: name for name, letter in header.items()}
        for row in ws.iter_rows(min_row=2):
            values = {}
            for cell in row:
                name = by_letter.get(cell.column_letter)
                if name is None:
                    continue
                value, why = cell_value(cell, ws.title, self.saved)
                where = cell_name(ws.title, cell.coordinate)
                if why:
                    self.bad(where, why)
                values[name] = (where, value)
            if any(v is not None for _, v in values.values()):
                out.append((row[0].row, values))
        return header, out

    def field(self, spec_kind: str, cell: tuple[str, Any], path: str, choices=()) -> Any:
        where, value = cell
        self.where[path] = where
        if value is None:
            return None
        try:
            return _convert(spec_kind, value, choices)
        except ValueError as exc:
            self.bad(where, str(exc))
            return None

    def dist(self, cells: dict[str, tuple[str, Any]], path: str, sheet: str, row: int, header: dict[str, str]) -> Any:
        """The distribution columns of one row: a number, a table ``{dist, params}`` or None."""
        def at(name: str) -> tuple[str, Any]:
            return cells.get(name) or (cell_name(sheet, f"{header[name]}{row}" if name in header else "1:1"), None)

        kind_cell, value_cell = at("dist"), at("value")
        self.where[path] = kind_cell[0] if kind_cell[1] is not None or "dist" in header else value_cell[0]
        params = {}
        for name in DIST_COLUMNS[2:]:
            v = self.field("number", at(name), f"{path}#{name}") if name in cells else None
            if v is not None:
                params[name] = v
        value = self.field("number", value_cell, f"{path}#value") if "value" in cells else None
        if kind_cell[1] is None:
            if params:
                self.bad(kind_cell[0], f"parameters ({', '.join(params)}) given without 'dist'")
                return None
            self.where[path] = value_cell[0]
            return value
        kind = _text(kind_cell[1]).lower()
        if value is not None:
            params["value"] = value
        return {"dist": kind, **params}

    # -- sheets --------------------------------------------------------------------------
    def fields_sheet(self, ws, spec: Sheet) -> dict:
        header, rows = self.rows(ws, spec)
        if rows and "field" not in header:
            self.bad(cell_name(ws.title, "1:1"), "missing required column 'field'")
            return {}
        out: dict = {}
        for row, cells in rows:
            name = self.field("text", cells.get("field", ("", None)), f"{spec.section}#field{row}")
            if name is None:
                continue
            col = spec.column(name)
            where = cells["field"][0]
            if col is None or (name != col.name and not col.per_key):
                self.bad(where, f"unknown field {name!r} (expected {', '.join(c.name for c in spec.columns)})")
                continue
            path = f"{spec.section}.{name}"
            if path in self.where:
                self.bad(where, f"the field {name!r} is given twice")
                continue
            if col.kind == "dist":
                value = self.dist(cells, path, ws.title, row, header)
            else:
                extra = [k for k in DIST_COLUMNS[1:] if cells.get(k, ("", None))[1] is not None]
                if extra:
                    self.bad(cells[extra[0]][0], f"{name!r} is not uncertain: give its 'value' only")
                value = self.field(col.kind, cells.get("value", (where, None)), path)
            if value is None:
                continue
            if name != col.name:
                key = name.split(".", 1)[1]
                out.setdefault(col.name, {})[key] = value
                self.where.setdefault(f"{spec.section}.{col.name}", where)
                self.where[f"{spec.section}.{col.name}.{key}"] = self.where.pop(path)
                self.where[f"{spec.section}.{col.name}.{key}#id"] = where  # the cell naming the key
            else:
                out[name] = value
        self.where.setdefault(spec.section, cell_name(ws.title, "A2"))
        return out

    def table_sheet(self, ws, spec: Sheet, path_of) -> list[tuple[int, dict, dict[str, tuple[str, Any]]]]:
        """Rows as ``(row, fields, {column: (cell, value)})``; ``path_of(i)`` is the i-th item's field path."""
        header, rows = self.rows(ws, spec)
        for c in spec.columns:
            present = (any(k in header for k in DIST_COLUMNS) if c.kind == "dist"
                       else c.name in header or (c.per_key and any(k.startswith(c.name + ".") for k in header)))
            if c.required and rows and not present:
                self.bad(cell_name(ws.title, "1:1"), f"missing required column {c.name!r}")
        out = []
        for i, (row, cells) in enumerate(rows):
            base = path_of(i)
            self.where[base] = cell_name(ws.title, f"A{row}")
            item: dict = {}
            for c in spec.columns:
                path = f"{base}.{c.name}"
                if c.kind == "dist":
                    value = self.dist(cells, path, ws.title, row, header)
                else:
                    # a missing column is reported once, at the header: its fields point there too
                    at = cell_name(ws.title, f"{header[c.name]}{row}" if c.name in header else "1:1")
                    value = self.field(c.kind, cells.get(c.name, (at, None)), path, c.choices)
                    if c.per_key:
                        table = {}
                        for k in [k for k in cells if k.startswith(c.name + ".")]:
                            v = self.field(c.kind, cells[k], f"{path}.{k.split('.', 1)[1]}")
                            if v is not None:
                                table[k.split(".", 1)[1]] = v
                                self.where.setdefault(path, cells[k][0])
                        if table and value is not None:
                            self.bad(cells[c.name][0], f"give {c.name!r} or {c.name}.<{c.key}> columns, not both")
                        value = table or value
                if value is not None:
                    item[c.name] = value
            out.append((row, item, cells))
        self.where.setdefault(spec.section, cell_name(ws.title, "A2"))
        return out


def _holds_impacts(ws) -> bool:
    """A sheet whose header names the Impacts sheet's columns (driver, metric, impact)."""
    names = {str(c.value).strip() for c in next(ws.iter_rows(min_row=1, max_row=1), ()) if c.value is not None}
    return {"driver", "impact"} <= names


def workbook_data(path: str | Path, source: str | None = None) -> tuple[dict, dict[str, str], list[Problem]]:
    """The scenario data a workbook holds, the cell of each field path, and the problems found
    in the cells (a cell that cannot be read is left out of the data)."""
    from cxopt.model.workbook_assemble import assemble

    path = Path(path)
    source = source or str(path)
    book = open_workbook(path, source, ScenarioError)
    r = _Reader(path, source)
    sheets = {}
    for ws in book.worksheets:
        spec = SHEET_BY_NAME.get(ws.title)
        if spec is not None and spec.name == "Metrics" and _holds_impacts(ws):
            spec = SHEET_BY_NAME["Impacts"]  # cxopt 0.2 wrote the impacts on a sheet named Metrics
        if spec is None:
            r.bad(ws.title, f"unknown sheet (expected {', '.join(s.name for s in SHEETS)})")
        elif spec.name in sheets:
            r.bad(ws.title, f"the impacts are given twice: on {sheets[spec.name].title!r} and here")
        else:
            sheets[spec.name] = ws
    data = assemble(r, sheets)
    return data, r.where, r.problems


def _locate(path: str, where: dict[str, str], reason: str) -> str:
    """The cell of a field path (or of its nearest enclosing field); an unknown or duplicate id
    (or a key that is no budget period) names the cell holding it."""
    if reason.startswith(("unknown", "duplicate", "not a budget period")) and f"{path}#id" in where:
        return where[f"{path}#id"]
    for key in re.findall(r"'([^']+)'", reason):  # "amount for 'h1' must be ...": the cell of that entry
        if f"{path}.{key}" in where:
            return where[f"{path}.{key}"]
    probe = path
    while probe:
        if probe in where:
            return where[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return where.get(path.split(".")[0].split("[")[0], "")


def read_scenario_workbook(path: str | Path, *, parse: Callable[..., Any]) -> Any:
    """Read and validate a scenario workbook (``.xlsx``): every problem names its cell.

    ``parse`` is :func:`cxopt.model.scenario.parse_scenario` (passed in by ``load_scenario``,
    which dispatches here: this module does not import it back). A relative customer-file path
    is resolved against the workbook's directory, as for TOML. Returns the ``Scenario``.
    """
    path = Path(path)
    source = str(path)
    data, where, problems = workbook_data(path, source)
    customers = data.get("customers")
    if isinstance(customers, dict) and isinstance(customers.get("path"), str):
        p = Path(customers["path"])
        if not p.is_absolute():
            customers["path"] = str(path.parent / p)
    try:
        sc = parse(data, source=source)
    except ScenarioError as exc:
        named = {p.path for p in problems}  # a cell that could not be read is reported once, as such
        for p in exc.problems:
            reason = "required, but missing" if p.reason == "Field required" else p.reason
            cell = _locate(p.path, where, reason) if p.path else ""
            if cell not in named:
                problems.append(Problem(source, cell or p.path, f"{reason} ({p.path})" if cell and p.path else reason))
    if problems:
        raise ScenarioError(problems)
    return sc
