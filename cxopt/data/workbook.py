"""Monthly actuals from a workbook (a filled copy of a plan's ``actuals-template.xlsx``), as the
same :class:`pyarrow.Table` the CSV reader gives ``cxopt track``.

Sheet ``Actuals``: a header row (``month``, ``customers_lost``, ``revenue_lost``,
``<initiative>.metric``, ``.status``, ``.live_month``), one row per month; the ``planned ...``
columns (the plan's values, for comparison) and months with nothing filled in are left out.
Sheet ``Weekly metrics`` (optional): ``date`` and metric columns; its rows are appended with
their ISO date in the ``month`` column and only the metric columns filled. A cell that cannot be
read raises a :class:`DataError` naming it (``actuals.xlsx: Actuals!C4: expected a number``).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Collection

import pyarrow as pa

from cxopt.errors import DataError, Problem
from cxopt.model.workbook import cell_name, cell_value, open_workbook

__all__ = ["read_actuals_workbook", "ACTUALS_SHEET", "WEEKLY_SHEET", "PLANNED_PREFIX"]

ACTUALS_SHEET, WEEKLY_SHEET = "Actuals", "Weekly metrics"
PLANNED_PREFIX = "planned "


def _is_number_column(name: str, levels: frozenset[str] = frozenset()) -> bool:
    """Is the column read as numbers? The base figures, process metrics, go-live months and the measured
    levels of the CX metrics in ``levels``."""
    return (name in ("customers_lost", "revenue_lost", "customers_active") or name in levels
            or name.endswith((".metric", ".live_month")))


def _month_text(value: Any, weekly: bool) -> str:
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.isoformat() if weekly else value.strftime("%Y-%m")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Sheet:
    def __init__(self, path: Path, source: str, levels: frozenset[str] = frozenset()):
        self.source, self.path, self.levels = source, path, levels
        self.problems: list[Problem] = []
        self.book = None

    def saved(self, sheet: str, coordinate: str) -> Any:
        if self.book is None:
            import openpyxl

            self.book = openpyxl.load_workbook(self.path, data_only=True)
        return self.book[sheet][coordinate].value

    def bad(self, ws, coordinate: str, reason: str) -> None:
        self.problems.append(Problem(self.source, cell_name(ws.title, coordinate), reason))

    def read(self, ws, key: str, weekly: bool) -> tuple[list[str], list[dict[str, Any]]]:
        """The columns (``key`` read as ``month``) and the rows with at least one figure."""
        columns: dict[int, str] = {}
        for cell in next(ws.iter_rows(min_row=1, max_row=1), ()):
            value, why = cell_value(cell, ws.title, self.saved)
            if why:
                self.bad(ws, cell.coordinate, why)
            if value is None or str(value).startswith(PLANNED_PREFIX):
                continue
            name = "month" if str(value) == key else str(value)
            if weekly and not (name == "month" or name.endswith(".metric")):
                self.bad(ws, cell.coordinate, f"unknown column {name!r} (expected {key} and <initiative>.metric columns)")
            elif name in columns.values():
                self.bad(ws, cell.coordinate, f"the column {str(value)!r} is given twice")
            else:
                columns[cell.column] = name
        month_col = next((c for c, n in columns.items() if n == "month"), None)
        if month_col is None:
            self.bad(ws, "1:1", f"missing column {key!r}")
            return [], []
        rows = []
        for row in ws.iter_rows(min_row=2):
            record: dict[str, Any] = {}
            for cell in row:
                name = columns.get(cell.column)
                if name is None:
                    continue
                value, why = cell_value(cell, ws.title, self.saved)
                if why:
                    self.bad(ws, cell.coordinate, why)
                elif value is None:
                    continue
                elif name == "month":
                    record["month"] = _month_text(value, weekly)
                elif _is_number_column(name, self.levels):
                    number = _number(value)
                    if number is None:
                        self.bad(ws, cell.coordinate, f"{name}: expected a number, got {value!r}")
                    else:
                        record[name] = number
                else:
                    record[name] = value if isinstance(value, str) else _month_text(value, False)
            if len(record) > ("month" in record):  # a row with figures
                if "month" not in record:
                    self.bad(ws, f"{ws.cell(row=row[0].row, column=month_col).coordinate}",
                             f"{key}: missing value (the row has figures)")
                else:
                    rows.append(record)
        return list(columns.values()), rows


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or isinstance(value, (_dt.date, _dt.time)):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).replace("_", ""))
    except ValueError:
        return None


def read_actuals_workbook(path: str | Path, levels: Collection[str] = ()) -> pa.Table:
    """The actuals workbook at ``path`` as the table ``cxopt track`` reads (see the module docstring).

    ``levels``: the plan's declared CX metrics; their columns (measured levels, e.g. ``csat``) are read
    as numbers, a cell that is not one named like any other (``Actuals!E4: csat: expected a number``).

    Raises
    ------
    DataError
        Every cell that cannot be read, each named (``Actuals!C4``), or a missing sheet or column.
    """
    path = Path(path)
    source = str(path)
    book = open_workbook(path, source, DataError)
    levels = frozenset(levels)
    reader = _Sheet(path, source, levels)
    if ACTUALS_SHEET not in book.sheetnames:
        raise DataError(Problem(source, ACTUALS_SHEET, "missing sheet (fill a copy of the plan's "
                                                       "actuals-template.xlsx)"))
    names, rows = reader.read(book[ACTUALS_SHEET], "month", weekly=False)
    if WEEKLY_SHEET in book.sheetnames:
        weekly_names, weekly_rows = reader.read(book[WEEKLY_SHEET], "date", weekly=True)
        names += [n for n in weekly_names if n not in names]
        rows += weekly_rows
    if reader.problems:
        raise DataError(reader.problems)
    fields = [pa.field(n, pa.float64() if _is_number_column(n, levels) else pa.string()) for n in names]
    schema = pa.schema(fields)
    return pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=schema)
