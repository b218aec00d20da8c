"""What every ``cxopt`` command shares: the console on stderr, the error boundary that maps
library errors to exit codes (the one place that does), progress bars, option types and the
steps several commands take (load the scenario, build the base, simulate with progress).

stdout carries only the result (a table, or one JSON object with ``--json``); messages,
warnings and progress go to stderr. Exit codes (DESIGN.md section 5): 0 success, 2 bad
input, 3 infeasible, 1 anything else.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3

err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)  # one line per message, never wrapped


class Mode(str, Enum):
    grouped = "grouped"
    sampled = "sampled"


class SolverName(str, Enum):
    auto = "auto"
    highs = "highs"
    cbc = "cbc"
    exhaustive = "exhaustive"


def out_console() -> Console:
    return Console(highlight=False, soft_wrap=False, emoji=False, width=max(100, Console().width))


def json_default(o):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=json_default, allow_nan=False) + "\n")
    sys.stdout.flush()


def flag_of(problem) -> str:
    """The CLI's name for a problem's field: a Python parameter (``max_initiatives``) becomes its
    flag (``--max-initiatives``); a file's field path stays as it is."""
    return f"--{problem.path.replace('_', '-')}" if not problem.source and problem.path.isidentifier() else problem.path


@contextmanager
def error_boundary() -> Iterator[None]:
    """The one place where library errors become messages and exit codes."""
    from cxopt.errors import ArgumentError, BadInputError, InfeasibleError, OutputExistsError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except BadInputError as exc:
            for p in exc.problems:
                if isinstance(exc, ArgumentError):
                    p = type(p)(p.source, flag_of(p), p.reason)
                err.print(f"error: {p}", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except OutputExistsError as exc:
            err.print(f"error: {exc.path}: already exists; use --force to overwrite it", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except IsADirectoryError as exc:  # an output path the user must change
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except InfeasibleError as exc:
            err.print(f"infeasible: {exc}", markup=False)
            for c in exc.conflicts:
                err.print(f"  - {c}", markup=False)
            raise typer.Exit(EXIT_INFEASIBLE) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except MemoryError:
            err.print("error: out of memory; try a smaller --chunk-size or fewer --trials", markup=False)
            raise typer.Exit(EXIT_ERROR) from None
        except Exception as exc:  # the boundary: anything else is exit 1 with its message
            if os.environ.get("CXOPT_DEBUG"):
                raise
            err.print(f"error: {type(exc).__name__}: {exc} (set CXOPT_DEBUG=1 for a traceback)", markup=False)
            raise typer.Exit(EXIT_ERROR) from None
        finally:
            for w in caught:
                if not issubclass(w.category, DeprecationWarning):  # library deprecations are ours to fix
                    err.print(f"warning: {w.message}", markup=False)


def set_threads(threads: Optional[int]) -> None:
    if threads:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def progress_bar(quiet: bool):
    """A rich progress callback on stderr, or None when quiet or not a terminal."""
    if quiet or not err.is_terminal:
        return None, None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                   TimeElapsedColumn(), console=err, transient=True)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total or None)
        bar.update(tasks[stage], completed=done, total=total or None)

    return bar, update


def finite(value: Optional[float]) -> Optional[float]:
    """Option callback: nan and inf are bad input (no limit is spelled by leaving the option out)."""
    import math

    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"expected a finite number, got {value!r} (leave the option out for no limit)")
    return value


# shared options
ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (TOML, or a .xlsx workbook).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
CustomersOpt = Annotated[Optional[int], typer.Option("--customers", min=1, help="Synthetic base of N customers.")]
BaseOpt = Annotated[Optional[Path], typer.Option("--base", help="Customer file (Parquet, CSV, directory or glob).")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", min=0, help="Random seed (default: the scenario's).")]
TrialsOpt = Annotated[Optional[int], typer.Option("--trials", min=1, help="Trials (default: the scenario's).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", min=1, help="numba threads (results do not depend on it).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Read the whole base again (skip the group statistics cache).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing output.")]
ClusterOpt = Annotated[Optional[str], typer.Option(
    "--cluster", help="Run the passes over the base on Dask: local, local:WORKERS, tcp://HOST:PORT, or '' for "
                      "DASK_SCHEDULER_ADDRESS (needs the 'distributed' extra of cxopt). Same numbers as without.")]


RiskOpt = Annotated[Optional[str], typer.Option("--risk", help="cvar:ALPHA:BETA — maximise (1-BETA) mean + BETA CVaR_ALPHA.")]
SolverOpt = Annotated[SolverName, typer.Option("--solver", help="Integer-program solver.")]
MaxOpt = Annotated[Optional[int], typer.Option("--max-initiatives", min=1, help="Focus limit (default 5; raising it is on purpose).")]
TopOpt = Annotated[int, typer.Option("--top", min=1, help="Distinct solutions re-evaluated exactly (M).")]
TimeOpt = Annotated[float, typer.Option("--time-limit", min=0.1, callback=finite, help="Seconds per solve.")]


class Objective(str, Enum):
    revenue = "revenue"
    value = "value"
    cost = "cost"


GoalMetricOpt = Annotated[Optional[str], typer.Option(
    "--goal-metric", help="State the goal in churn (default), retained_revenue or a CX metric the scenario declares "
                          "([metrics.<name>], e.g. csat).")]
ConfidenceOpt = Annotated[Optional[float], typer.Option(
    "--confidence", help="The goal's target is met in this share of trials (default 0.5; 0.8: in 80%); with "
                         "--target, the probability the targets must reach.")]
TargetOpt = Annotated[Optional[list[str]], typer.Option(
    "--target", help="METRIC>=VALUE or METRIC<=VALUE (csat>=75, churn<=0.18, csat>=baseline+3: per trial against "
                     "the same trial's baseline); repeatable, all must hold in the same trial. Chooses the best "
                     "portfolio with P(met) >= --confidence; exit 3 when none reaches it.")]
ExactTargetOpt = Annotated[bool, typer.Option(
    "--exact-target", help="With --target/--require: value every feasible portfolio on every trial (proven, "
                           "however long it takes) instead of screening large cases with the pairwise "
                           "surrogate.")]
RequireOpt = Annotated[Optional[list[str]], typer.Option(
    "--require", help="A percentile requirement METRIC.pQ<=VALUE or >=VALUE (churn.p90<=0.2); repeatable.")]
ObjectiveOpt = Annotated[Objective, typer.Option(
    "--objective", help="revenue: the most expected retained revenue (default); value: the most expected value, "
                        "margin x retained revenue + operating savings - cost ([scenario] margin, 1 when absent; "
                        "--risk mixes in the CVaR of the value); cost: the cheapest portfolio meeting "
                        "--target/--require (only with them).")]


def load(path: Path):
    """The validated scenario at ``path``."""
    from cxopt.model.scenario import load_scenario

    return load_scenario(path)


def customer_base(sc, customers, base, seed, no_cache: bool = False):
    """The customer base the options name: ``--customers N`` (synthetic), ``--base FILE`` or the scenario's."""
    from cxopt.data.customers import CustomerBase

    if customers is not None and base is not None:
        from cxopt.errors import ArgumentError, Problem

        raise ArgumentError(Problem("", "--customers/--base", "give one of --customers and --base, not both"))
    b = CustomerBase.from_scenario(sc, customers=customers, base_path=base, seed=seed)
    b.use_cache = not no_cache
    return b


def executor_for(cluster: Optional[str]):
    """The executor ``--cluster`` names: None (this process) or Dask (``cxopt.distributed``)."""
    if cluster is None:
        return None
    from cxopt.distributed import DaskExecutor

    return DaskExecutor(cluster)


def simulate_with_progress(sc, customers, base, seed, trials, mode, quiet, cluster=None, no_cache=False):
    """Build the base the options name and simulate it, with a progress bar on a terminal."""
    from cxopt.engine.simulation import simulate as run

    b = customer_base(sc, customers, base, seed, no_cache)
    bar, update = progress_bar(quiet)
    executor = executor_for(cluster)
    if bar:
        with bar:
            return run(sc, b, trials=trials, seed=seed, mode=mode.value, progress=update, executor=executor)
    return run(sc, b, trials=trials, seed=seed, mode=mode.value, executor=executor)


def report_frontier(sim, result, risk, solver, top, time_limit, steps: int = 6, objective: str = "revenue"):
    """A small budget frontier around the plan's budget, for the report's plot (None without a budget);
    ``objective`` ``"value"`` chooses each budget's portfolio by value, as the plan was."""
    import numpy as np

    from cxopt.portfolio.frontier import frontier as run_frontier
    from cxopt.report.summary import frontier_summary

    budget = result.constraints.budget
    if budget is None:
        return None
    total = float(budget.sum())
    grid = np.linspace(0.25 * total, 2.0 * total, steps)
    results = run_frontier(sim, grid, max_initiatives=result.constraints.max_initiatives,
                           owner_capacity=result.constraints.owner_capacity, risk=risk,
                           solver=solver.value, top=top, time_limit=time_limit, objective=objective)
    return frontier_summary(sim, grid, results)
