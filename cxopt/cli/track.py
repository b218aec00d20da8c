"""``cxopt track``: actuals against the plan's forecast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from cxopt.cli.common import ForceOpt, finite, JsonOpt, ThreadsOpt, err, error_boundary, out_console, print_json, set_threads


def track(plan_dir: Annotated[Path, typer.Argument(help="Plan directory (cxopt optimize --out DIR).")],
          actuals: Annotated[Path, typer.Argument(help="Actuals: monthly rows, dated metric rows (CSV, Parquet, or a filled actuals-template.xlsx).")],
          json_: JsonOpt = False,
          out: Annotated[Optional[Path], typer.Option("--out", help="Write the tracking result: JSON, or a workbook if the name ends in .xlsx.")] = None,
          html_out: Annotated[Optional[Path], typer.Option("--html", help="Write the tracking page (self-contained HTML).")] = None,
          dispersion: Annotated[Optional[float], typer.Option(
              "--dispersion", callback=finite, help="Negative binomial dispersion k of monthly losses (variance mu + mu^2/k). "
                                   "Default: 200, estimated from the months once 6 are observed.")] = None,
          metric_sd: Annotated[float, typer.Option("--metric-sd", callback=finite, help="Width of the process-metric likelihood (share of baseline-to-target).")] = 0.5,
          level_sd: Annotated[Optional[list[str]], typer.Option(
              "--level-sd", help="Survey noise (sd, in points) of a measured CX level column: one number for every "
                                 "declared metric, or NAME=SD (repeatable). Default 1 point.")] = None,
          particles: Annotated[Optional[int], typer.Option("--particles", help="Particles carrying the posterior (default 1,000, at most the plan's trials).")] = None,
          ess_threshold: Annotated[Optional[float], typer.Option("--ess-threshold", callback=finite, hidden=True)] = None,
          resimulate: Annotated[bool, typer.Option("--resimulate", hidden=True)] = False,
          trials: Annotated[Optional[int], typer.Option("--trials", hidden=True)] = None,
          force: ForceOpt = False, threads: ThreadsOpt = None) -> None:
    """Actuals against the forecast: the re-forecast, the goal's probability now, initiatives off track, wins."""
    from cxopt.tracking.track import track as run_track

    with error_boundary():
        set_threads(threads)
        for flag, given in (("--resimulate", resimulate), ("--ess-threshold", ess_threshold is not None),
                            ("--trials", trials is not None)):
            if given:
                err.print(f"note: {flag} has no purpose any more and is ignored: the posterior is rejuvenated "
                          "month by month (resample-move) and does not collapse onto a few trials", markup=False)
        from cxopt.data.atomic import check_output, recover_output

        recover_output(plan_dir)  # a plan directory whose forced replacement was killed mid-swap
        if out is not None:  # before any work or other output
            check_output(out, force=force)
        if html_out is not None:
            check_output(html_out, force=force, parameter="--html")
        result = run_track(plan_dir, actuals, dispersion=dispersion, metric_sd=metric_sd,
                           level_sd=level_sds(level_sd), particles=particles)
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
        if json_:
            print_json(data)
        else:
            from cxopt.report.terminal import print_tracking

            print_tracking(data, out_console())


def level_sds(given: list[str] | None) -> float | dict[str, float] | None:
    """``--level-sd`` values: one number (every declared metric) or NAME=SD pairs."""
    from cxopt.errors import ArgumentError

    if not given:
        return None
    pairs, bare = {}, []
    for text in given:
        name, eq, value = text.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            raise ArgumentError("level_sd", f"expected a number or NAME=SD, got {text!r}") from None
        if eq:
            pairs[name.strip()] = number
        else:
            bare.append(number)
    if bare and (pairs or len(bare) > 1):
        raise ArgumentError("level_sd", "give one number for every declared metric, or NAME=SD per metric, not both")
    return bare[0] if bare else pairs


def replan(plan_dir: Annotated[Path, typer.Argument(help="Plan directory (cxopt optimize --out DIR).")],
           actuals: Annotated[Path, typer.Argument(help="Actuals so far (CSV or Parquet).")],
           budget: Annotated[Optional[float], typer.Option(
               "--budget", callback=finite, help="What is left to spend (default: the plan's budget less the cost of what was "
                                "started).")] = None,
           json_: JsonOpt = False,
           out: Annotated[Optional[Path], typer.Option("--out", help="Write the new plan directory (it records its parent).")] = None,
           particles: Annotated[Optional[int], typer.Option("--particles", help="Particles carrying the posterior.")] = None,
           force: ForceOpt = False, threads: ThreadsOpt = None) -> None:
    """Keep what is live or spent, re-choose the rest for the remaining months and budget on the evidence."""
    from cxopt.tracking.replan import replan as run_replan

    with error_boundary():
        set_threads(threads)
        from cxopt.data.atomic import recover_output

        recover_output(plan_dir)  # a plan directory whose forced replacement was killed mid-swap
        if out is not None:  # before any work
            from cxopt.report.plandir import check_plan_out

            check_plan_out(out, force=force)
        result = run_replan(plan_dir, actuals, budget=budget, particles=particles)
        if out is not None:
            from cxopt.report.plandir import save_plan

            save_plan(result.plan, out, force=force)
            err.print(f"wrote the new plan to {out}", markup=False)
        data = result.to_dict()
        if json_:
            print_json(data)
        else:
            from cxopt.report.terminal import print_replan

            print_replan(data, out_console())


def register(app: typer.Typer) -> None:
    """Add ``track`` and ``replan`` to the ``cxopt`` app."""
    app.command()(track)
    app.command()(replan)
