"""The ``cxopt`` application: every command group registered on one Typer app."""

from __future__ import annotations

from typing import Annotated

import typer

from cxopt.cli import bench, calibrate, optimize, report, scenario, simulate, track, workbook

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bottom-up customer-experience goals: quantify pains, simulate initiatives, pick the portfolio.",
)
for _group in (scenario, workbook, simulate, optimize, report, track, calibrate, bench):
    _group.register(app)


def _print_version(value: bool) -> None:
    if value:
        from cxopt.version import __version__

        typer.echo(f"cxopt {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False) -> None:
    """Bottom-up customer-experience goals: quantify pains, simulate initiatives, pick the portfolio."""


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    """Console entry point. SIGTERM raises ``SystemExit`` so that ``finally`` blocks run and
    temporaries are removed, as on Ctrl-C (Python only does that for SIGINT by itself)."""
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    app()
