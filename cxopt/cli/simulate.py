"""``cxopt simulate``: the baseline and each initiative's standalone gain, with bands."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from cxopt.cli.common import (BaseOpt, ClusterOpt, CustomersOpt, ForceOpt, JsonOpt, Mode, NoCacheOpt, QuietOpt,
                              ScenarioArg,
                              SeedOpt, ThreadsOpt, TrialsOpt, customer_base, error_boundary, executor_for, load,
                              out_console, print_json, progress_bar, set_threads)


def simulate(scenario: ScenarioArg, trials: TrialsOpt = None, seed: SeedOpt = None,
             customers: CustomersOpt = None, base: BaseOpt = None,
             mode: Annotated[Mode, typer.Option("--mode")] = Mode.grouped,
             json_: JsonOpt = False,
             out: Annotated[Optional[Path], typer.Option("--out", help="Write per-trial draws and values (Parquet).")] = None,
             force: ForceOpt = False, quiet: QuietOpt = False, threads: ThreadsOpt = None,
             cluster: ClusterOpt = None, no_cache: NoCacheOpt = False) -> None:
    """Simulate the base: baseline and each initiative's standalone gain, with bands."""
    from cxopt.engine.simulation import simulate as run
    from cxopt.report.summary import simulation_summary

    with error_boundary():
        set_threads(threads)
        sc = load(scenario)
        if out is not None:
            from cxopt.data.atomic import check_output

            check_output(out, force=force)  # refuse before the work, not after
        b = customer_base(sc, customers, base, seed, no_cache)
        bar, update = progress_bar(quiet)
        t0 = time.perf_counter()
        if bar:
            with bar:
                sim = run(sc, b, trials=trials, seed=seed, mode=mode.value, progress=update,
                          executor=executor_for(cluster))
        else:
            sim = run(sc, b, trials=trials, seed=seed, mode=mode.value, executor=executor_for(cluster))
        seconds = time.perf_counter() - t0
        if out is not None:
            from cxopt.engine.trials import write_trials

            write_trials(sim, out, force=force)
        summary = simulation_summary(sim, seconds)
        if json_:
            print_json(summary)
        else:
            from cxopt.report.terminal import print_simulation

            print_simulation(summary, out_console())




def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the ``cxopt`` app."""
    app.command()(simulate)
