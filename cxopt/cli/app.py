"""The ``cxopt`` application: every command group registered on one Typer app."""

from __future__ import annotations

import typer

from cxopt.cli import bench, calibrate, optimize, report, scenario, simulate, track

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bottom-up customer-experience goals: quantify pains, simulate initiatives, pick the portfolio.",
)
for _group in (scenario, simulate, optimize, report, track, calibrate, bench):
    _group.register(app)


def main() -> None:
    """Console entry point."""
    app()
