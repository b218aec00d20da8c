"""The small case the value-objective CLI tests share: a margin, operating savings and a budget that
binds, run on a small synthetic base, and the CLI invoked in-process."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cxopt.cli import app
from tests.builders import scenario, write

RUN = ["--customers", "3000", "--trials", "100", "--seed", "3", "--quiet"]


def write_value_scenario(folder: Path) -> Path:
    data = scenario({"scenario.margin": 0.35, "initiatives[2].savings": 9_000.0, "initiatives[0].savings": 600.0},
                    budget={"total": 500})
    return write(folder / "value.toml", data)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
