"""What every workbook cxopt writes shares: cells that stay what they are (text is text, never
a formula or a date), headers with comments, number formats, frozen headers, widths, and saving
atomically with a clear error when the file is locked (open in Excel) or not writable.

openpyxl is the one spreadsheet library: it reads (the scenario workbook, filled actuals) and
writes (templates with data validation and comments, plans with native charts), pure Python.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cxopt.data.atomic import atomic_path

__all__ = ["new_workbook", "put", "header", "table", "fit_widths", "save_workbook", "MONEY", "SHARE",
           "NUMBER", "INTEGER", "month_label"]

MONEY = "#,##0"
NUMBER = "#,##0.00"
INTEGER = "0"
SHARE = "0.0%"
_BOLD = Font(bold=True)
_FILL = PatternFill("solid", fgColor="DDE4EE")
_FORMULA_START = ("=", "+", "-", "@")


def new_workbook() -> Workbook:
    """An empty workbook (its default sheet removed)."""
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def put(ws, row: int, col: int, value: Any, number_format: str | None = None):
    """Write one cell; text stays text (``=SUM(A1)``, ``2027-01``, ``-5 dB`` are not formulas,
    dates or numbers to Excel), numbers stay numbers, NaN becomes an empty cell."""
    cell = ws.cell(row=row, column=col)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return cell
    if isinstance(value, (_dt.date, _dt.datetime)):
        value = value.isoformat()
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # openpyxl would store '=...' as a formula
        if value.startswith(_FORMULA_START):
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
        return cell
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    cell.value = value
    if number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.number_format = number_format
    return cell


def header(ws, names: Sequence[str], comments: Sequence[str | None] = (), row: int = 1) -> None:
    """A bold, shaded header row, frozen, with a comment on each column that has one."""
    for j, name in enumerate(names, start=1):
        cell = put(ws, row, j, name)
        cell.font, cell.fill = _BOLD, _FILL
        cell.alignment = Alignment(vertical="top", wrap_text=False)
        about = comments[j - 1] if j - 1 < len(comments) else None
        if about:
            cell.comment = Comment(about, "cxopt", width=300, height=110)
    ws.freeze_panes = ws.cell(row=row + 1, column=1)


def table(ws, names: Sequence[str], rows: Iterable[Sequence[Any]], formats: Sequence[str | None] = (),
          comments: Sequence[str | None] = (), start_row: int = 1) -> int:
    """A header and its rows; returns the last row written."""
    header(ws, names, comments, row=start_row)
    r = start_row
    for r, values in enumerate(rows, start=start_row + 1):
        for j, v in enumerate(values, start=1):
            put(ws, r, j, v, formats[j - 1] if j - 1 < len(formats) else None)
    fit_widths(ws)
    return r


def fit_widths(ws, lo: int = 8, hi: int = 60) -> None:
    """Column widths from the longest value in each column (within [lo, hi] characters)."""
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            v = cell.value
            n = len(f"{v:,.2f}") if isinstance(v, float) else len(str(v))
            widths[cell.column] = max(widths.get(cell.column, 0), n)
    for col, n in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = max(lo, min(hi, n + 2))


def month_label(start: str | None, month: int) -> str:
    """``2027-03`` for month 3 of a horizon starting 2027-01 (month 1 = the first); ``3`` without a start."""
    if not start:
        return str(month)
    d = _dt.date.fromisoformat(start[:10]) if len(start) >= 10 else _dt.date.fromisoformat(start + "-01")
    index = d.year * 12 + d.month - 1 + month - 1
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def save_workbook(wb: Workbook, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Save ``wb`` to ``path`` atomically (a temporary file renamed into place): never over an
    existing file without ``force``; a locked or read-only destination raises a
    :class:`PermissionError` that says so, and leaves the old file as it was."""
    path = Path(path)
    try:
        with atomic_path(path, force=force) as tmp:
            wb.save(tmp)
    except PermissionError as exc:
        raise PermissionError(f"{path}: cannot write it ({exc.strerror or exc}): is it open in Excel or "
                              "another program, or read-only? Close it and run again; nothing was written") from None
    return path

