"""``cxopt track``: actuals against the plan's forecast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from cxopt.cli.common import (ForceOpt, JsonOpt, ThreadsOpt, TrialsOpt,
                              err, error_boundary, out_console, print_json, set_threads)


def track(plan_dir: Annotated[Path, typer.Argument(help="Plan directory (cxopt optimize --out DIR).")],
          actuals: Annotated[Path, typer.Argument(help="Monthly actuals (CSV, Parquet, or a filled actuals-template.xlsx).")],
          json_: JsonOpt = False,
          out: Annotated[Optional[Path], typer.Option("--out", help="Write the tracking result: JSON, or a workbook if the name ends in .xlsx.")] = None,
          html_out: Annotated[Optional[Path], typer.Option("--html", help="Write the tracking page (self-contained HTML).")] = None,
          dispersion: Annotated[Optional[float], typer.Option("--dispersion", help="Negative binomial dispersion k for monthly losses (default: Poisson).")] = None,
          metric_sd: Annotated[float, typer.Option("--metric-sd", help="Width of the process-metric likelihood (share of baseline-to-target).")] = 0.15,
          ess_threshold: Annotated[float, typer.Option("--ess-threshold", help="Advise re-simulation below this effective sample size.")] = 200.0,
          resimulate: Annotated[bool, typer.Option("--resimulate", help="Draw new trials conditioned on the facts.")] = False,
          trials: TrialsOpt = None, force: ForceOpt = False, threads: ThreadsOpt = None) -> None:
    """Actuals against the forecast: the re-forecast, the goal's probability now, initiatives off track, wins."""
    from cxopt.tracking.track import track as run_track

    with error_boundary():
        set_threads(threads)
        if html_out is not None and html_out.exists() and not force:  # before any work or other output
            from cxopt.errors import OutputExistsError

            raise OutputExistsError(html_out)
        result = run_track(plan_dir, actuals, dispersion=dispersion, metric_sd=metric_sd,
                           ess_threshold=ess_threshold, resimulate=resimulate, resimulate_trials=trials)
        data = result.to_dict()
        if out is not None and out.suffix.lower() == ".xlsx":
            from cxopt.report.workbook_tracking import write_tracking_workbook

            write_tracking_workbook(data, out, force=force)
        elif out is not None:
            from cxopt.data.atomic import write_text_atomic

            write_text_atomic(out, json.dumps(data, indent=2, allow_nan=False) + "\n", force=force)
        if html_out is not None:
            from cxopt.data.atomic import write_text_atomic

            write_text_atomic(html_out, result.to_html(), force=force)
        if result.resimulate_advised and not resimulate:
            err.print(f"note: effective sample size {result.effective_sample_size:.0f} is below "
                      f"{ess_threshold:.0f}: the evidence has left few trials; run again with --resimulate",
                      markup=False)
        if json_:
            print_json(data)
        else:
            from cxopt.report.terminal import print_tracking

            print_tracking(data, out_console())


def register(app: typer.Typer) -> None:
    """Add ``track`` to the ``cxopt`` app."""
    app.command()(track)
