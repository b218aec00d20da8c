"""``cxopt init`` and ``convert``: the scenario template, and a scenario between TOML and a workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cxopt.cli.common import ForceOpt, err, error_boundary

_FORMATS = (".xlsx", ".toml")


def _check_format(path: Path) -> None:
    if path.suffix.lower() not in _FORMATS:
        from cxopt.errors import ArgumentError, Problem

        raise ArgumentError(Problem(str(path), "", "expected a file name ending in .xlsx or .toml"))


def init(scenario: Annotated[Path, typer.Argument(help="The file to write: SCENARIO.xlsx (a workbook) or "
                                                       "SCENARIO.toml (commented TOML).", show_default=False)],
         force: ForceOpt = False) -> None:
    """Write a scenario template (an example row per sheet) to fill in."""
    from cxopt.report.workbook_scenario import write_template

    with error_boundary():
        _check_format(scenario)
        write_template(scenario, force=force)
        err.print(f"wrote the scenario template to {scenario}; fill it in, then: cxopt validate {scenario}",
                  markup=False)


def convert(scenario: Annotated[Path, typer.Argument(help="Scenario to read (TOML or .xlsx).", show_default=False)],
            out: Annotated[Path, typer.Option("--out", help="The file to write: .xlsx or .toml.", show_default=False)],
            force: ForceOpt = False) -> None:
    """Convert a scenario between TOML and a workbook (validated; reads back to the same scenario)."""
    from cxopt.report.workbook_scenario import convert_scenario

    with error_boundary():
        _check_format(out)
        if out.exists() and not force:  # before reading: the user's file is never touched
            from cxopt.errors import OutputExistsError

            raise OutputExistsError(out)
        convert_scenario(scenario, out, force=force)
        err.print(f"wrote {out}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``init``, ``convert`` to the ``cxopt`` app."""
    app.command()(init)
    app.command()(convert)
