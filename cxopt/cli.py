"""The ``cxopt`` command: a thin skin over the Python API.

stdout carries only the result (a table, or one JSON object with ``--json``); messages,
warnings and progress go to stderr. Exit codes (DESIGN.md section 5): 0 success, 2 bad
input, 3 infeasible, 1 anything else.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bottom-up customer-experience goals: quantify pains, simulate initiatives, pick the portfolio.",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per message, never wrapped


class Mode(str, Enum):
    grouped = "grouped"
    sampled = "sampled"


class SolverName(str, Enum):
    auto = "auto"
    highs = "highs"
    cbc = "cbc"
    exhaustive = "exhaustive"


def _out() -> Console:
    return Console(highlight=False, soft_wrap=False, width=max(100, Console().width))


def _json_default(o):
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
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default, allow_nan=False) + "\n")
    sys.stdout.flush()


@contextmanager
def _errors() -> Iterator[None]:
    """The one place where library errors become messages and exit codes."""
    from .atomic import OutputExistsError
    from .optimize import InfeasibleError
    from .scenario import ScenarioError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except ScenarioError as exc:
            for p in exc.problems:
                err.print(f"error: {p}", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (OutputExistsError, IsADirectoryError) as exc:  # an output path the user must change
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


def _threads(threads: Optional[int]) -> None:
    if threads:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def _progress(quiet: bool):
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


# shared options
ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (TOML).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
CustomersOpt = Annotated[Optional[int], typer.Option("--customers", min=1, help="Synthetic base of N customers.")]
BaseOpt = Annotated[Optional[Path], typer.Option("--base", help="Customer file (Parquet, CSV, directory or glob).")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", min=0, help="Random seed (default: the scenario's).")]
TrialsOpt = Annotated[Optional[int], typer.Option("--trials", min=1, help="Trials (default: the scenario's).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", min=1, help="numba threads (results do not depend on it).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing output.")]
ClusterOpt = Annotated[Optional[str], typer.Option(
    "--cluster", help="Run the passes over the base on Dask: local, local:WORKERS, tcp://HOST:PORT, or '' for "
                      "DASK_SCHEDULER_ADDRESS (needs the 'distributed' extra of cxopt). Same numbers as without.")]


def _load(path: Path):
    from .scenario import load_scenario

    return load_scenario(path)


def _base(sc, customers, base, seed):
    from .customers import CustomerBase

    if customers is not None and base is not None:
        from .scenario import Problem, ScenarioError

        raise ScenarioError(Problem("", "--customers/--base", "give one of --customers and --base, not both"))
    return CustomerBase.from_scenario(sc, customers=customers, base_path=base, seed=seed)


@app.command()
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario file; print every problem (exit 2) or a one-line summary."""
    with _errors():
        sc = _load(scenario)
        err.print(
            f"{scenario}: ok — {len(sc.pain_points)} pain points, {len(sc.delighters)} delighters, "
            f"{len(sc.initiatives)} initiatives, horizon {sc.horizon_months} months", markup=False)


@app.command()
def risk(scenario: ScenarioArg, json_: JsonOpt = False, customers: CustomersOpt = None, base: BaseOpt = None,
         seed: SeedOpt = None, quiet: QuietOpt = False, threads: ThreadsOpt = None) -> None:
    """Market at risk today: each pain point's volume, severity, customers and revenue at risk."""
    from .risk import market_at_risk

    with _errors():
        _threads(threads)
        sc = _load(scenario)
        b = _base(sc, customers, base, seed)
        report = market_at_risk(sc, b.group())
        if json_:
            print_json(report.to_dict())
        else:
            from .report.terminal import print_risk

            print_risk(report, _out())


@app.command()
def generate(scenario: ScenarioArg,
             customers: Annotated[int, typer.Option("--customers", min=1, help="Number of customers.")],
             out: Annotated[Path, typer.Option("--out", help="Output Parquet file (or directory with --partitions).")],
             partitions: Annotated[Optional[int], typer.Option("--partitions", min=1, help="Write a directory of P Parquet files, in parallel.")] = None,
             seed: SeedOpt = None, force: ForceOpt = False, quiet: QuietOpt = False) -> None:
    """Write a synthetic customer base (Parquet, in row groups, atomically)."""
    import threading

    from .customers import CustomerBase, write_partitioned

    with _errors():
        sc = _load(scenario)
        b = CustomerBase.synthetic(sc, n=customers, seed=seed)
        bar, update = _progress(quiet)
        t0 = time.perf_counter()
        lock, done = threading.Lock(), [0]

        def tick(n: int) -> None:
            with lock:
                done[0] += n
                if update:
                    update("generate", done[0], customers)

        def run() -> None:
            if partitions is None:
                b.write_parquet(out, force=force, progress=tick)
            else:
                write_partitioned(b, out, partitions, force=force, progress=tick)

        if bar:
            with bar:
                run()
        else:
            run()
        err.print(f"wrote {customers:,} customers to {out} in {time.perf_counter() - t0:.1f} s", markup=False)


@app.command()
def simulate(scenario: ScenarioArg, trials: TrialsOpt = None, seed: SeedOpt = None,
             customers: CustomersOpt = None, base: BaseOpt = None,
             mode: Annotated[Mode, typer.Option("--mode")] = Mode.grouped,
             json_: JsonOpt = False,
             out: Annotated[Optional[Path], typer.Option("--out", help="Write per-trial draws and values (Parquet).")] = None,
             force: ForceOpt = False, quiet: QuietOpt = False, threads: ThreadsOpt = None,
             cluster: ClusterOpt = None) -> None:
    """Simulate the base: baseline and each initiative's standalone gain, with bands."""
    from .engine import simulate as run
    from .report.summary import simulation_summary

    with _errors():
        _threads(threads)
        sc = _load(scenario)
        if out is not None and out.exists() and not force:  # refuse before the work, not after
            from .atomic import OutputExistsError

            raise OutputExistsError(out)
        b = _base(sc, customers, base, seed)
        bar, update = _progress(quiet)
        t0 = time.perf_counter()
        if bar:
            with bar:
                sim = run(sc, b, trials=trials, seed=seed, mode=mode.value, progress=update, cluster=cluster)
        else:
            sim = run(sc, b, trials=trials, seed=seed, mode=mode.value, cluster=cluster)
        seconds = time.perf_counter() - t0
        if out is not None:
            from .report.parquet import write_trials

            write_trials(sim, out, force=force)
        summary = simulation_summary(sim, seconds)
        if json_:
            print_json(summary)
        else:
            from .report.terminal import print_simulation

            print_simulation(summary, _out())


RiskOpt = Annotated[Optional[str], typer.Option("--risk", help="cvar:ALPHA:BETA — maximise (1-BETA) mean + BETA CVaR_ALPHA.")]
SolverOpt = Annotated[SolverName, typer.Option("--solver", help="Integer-program solver.")]
MaxOpt = Annotated[Optional[int], typer.Option("--max-initiatives", min=1, help="Focus limit (default 5; raising it is on purpose).")]
TopOpt = Annotated[int, typer.Option("--top", min=1, help="Distinct solutions re-evaluated exactly (M).")]
TimeOpt = Annotated[float, typer.Option("--time-limit", min=0.1, help="Seconds per solve.")]


def _simulate(sc, customers, base, seed, trials, mode, quiet, cluster=None):
    from .engine import simulate as run

    b = _base(sc, customers, base, seed)
    bar, update = _progress(quiet)
    if bar:
        with bar:
            return run(sc, b, trials=trials, seed=seed, mode=mode.value, progress=update, cluster=cluster)
    return run(sc, b, trials=trials, seed=seed, mode=mode.value, cluster=cluster)


def _report_frontier(sim, result, risk, solver, top, time_limit, steps: int = 6):
    """A small budget frontier around the plan's budget, for the report's plot (None without a budget)."""
    import numpy as np

    from .optimize import frontier as run_frontier
    from .report.summary import frontier_summary

    budget = result.constraints.budget
    if budget is None:
        return None
    total = float(budget.sum())
    grid = np.linspace(0.25 * total, 2.0 * total, steps)
    results = run_frontier(sim, grid, max_initiatives=result.constraints.max_initiatives,
                           owner_capacity=result.constraints.owner_capacity, risk=risk,
                           solver=solver.value, top=top, time_limit=time_limit)
    return frontier_summary(sim, grid, results)


@app.command()
def optimize(scenario: ScenarioArg,
             budget: Annotated[Optional[float], typer.Option("--budget", min=0, help="Total budget (overrides the scenario's).")] = None,
             max_initiatives: MaxOpt = None, risk: RiskOpt = None, solver: SolverOpt = SolverName.auto,
             top: TopOpt = 10, time_limit: TimeOpt = 60.0,
             trials: TrialsOpt = None, seed: SeedOpt = None, customers: CustomersOpt = None, base: BaseOpt = None,
             mode: Annotated[Mode, typer.Option("--mode")] = Mode.grouped, json_: JsonOpt = False,
             out: Annotated[Optional[Path], typer.Option("--out", help="Write the plan to this directory.")] = None,
             force: ForceOpt = False, quiet: QuietOpt = False, threads: ThreadsOpt = None,
             cluster: ClusterOpt = None) -> None:
    """Choose the portfolio (at most five initiatives) that keeps the most revenue within budget."""
    from .optimize import optimize as run_optimize
    from .plan import build_plan

    with _errors():
        _threads(threads)
        sc = _load(scenario)
        if out is not None and out.exists() and not force:
            from .atomic import OutputExistsError

            raise OutputExistsError(out)
        if max_initiatives is not None and max_initiatives > 5:
            warnings.warn(f"--max-initiatives {max_initiatives} raises the focus limit above 5 on purpose")
        t0 = time.perf_counter()
        sim = _simulate(sc, customers, base, seed, trials, mode, quiet, cluster)
        result = run_optimize(sim, budget=budget, max_initiatives=max_initiatives, risk=risk,
                              solver=solver.value, top=top, time_limit=time_limit)
        plan = build_plan(result)
        data = plan.to_dict()
        data["seconds"] = time.perf_counter() - t0
        if out is not None:
            from .planstore import save_plan

            save_plan(plan, out, force=force, frontier=_report_frontier(sim, result, risk, solver, top, time_limit))
            err.print(f"wrote the plan to {out}", markup=False)
        if json_:
            print_json(data)
        else:
            from .report.terminal import print_plan

            print_plan(data, _out())


@app.command()
def frontier(scenario: ScenarioArg,
             budgets: Annotated[str, typer.Option("--budgets", help="LOW:HIGH:STEPS, e.g. 250000:3000000:12")],
             max_initiatives: MaxOpt = None, risk: RiskOpt = None, solver: SolverOpt = SolverName.auto,
             top: TopOpt = 10, time_limit: TimeOpt = 60.0,
             trials: TrialsOpt = None, seed: SeedOpt = None, customers: CustomersOpt = None, base: BaseOpt = None,
             json_: JsonOpt = False, quiet: QuietOpt = False, threads: ThreadsOpt = None) -> None:
    """The best portfolio and its value at each budget: what the next dollar buys."""
    import numpy as np

    from .optimize import frontier as run_frontier
    from .report.summary import frontier_summary
    from .scenario import Problem, ScenarioError

    with _errors():
        _threads(threads)
        try:
            low, high, steps = budgets.split(":")
            low_f, high_f, n = float(low), float(high), int(steps)
            if not (0 <= low_f <= high_f and n >= 1):
                raise ValueError
        except ValueError:
            raise ScenarioError(Problem("", "--budgets", f"expected LOW:HIGH:STEPS with 0 <= LOW <= HIGH and STEPS >= 1, "
                                                        f"got {budgets!r}")) from None
        sc = _load(scenario)
        sim = _simulate(sc, customers, base, seed, trials, Mode.grouped, quiet)
        grid = np.linspace(low_f, high_f, n) if n > 1 else np.array([high_f])
        results = run_frontier(sim, grid, max_initiatives=max_initiatives, risk=risk, solver=solver.value,
                               top=top, time_limit=time_limit)
        data = frontier_summary(sim, grid, results)
        if json_:
            print_json(data)
        else:
            from .report.terminal import print_frontier

            print_frontier(data, _out())


@app.command()
def track(plan_dir: Annotated[Path, typer.Argument(help="Plan directory (cxopt optimize --out DIR).")],
          actuals: Annotated[Path, typer.Argument(help="Monthly actuals (CSV or Parquet).")],
          json_: JsonOpt = False,
          out: Annotated[Optional[Path], typer.Option("--out", help="Write the tracking result (JSON).")] = None,
          html_out: Annotated[Optional[Path], typer.Option("--html", help="Write the tracking page (self-contained HTML).")] = None,
          dispersion: Annotated[Optional[float], typer.Option("--dispersion", help="Negative binomial dispersion k for monthly losses (default: Poisson).")] = None,
          metric_sd: Annotated[float, typer.Option("--metric-sd", help="Width of the process-metric likelihood (share of baseline-to-target).")] = 0.15,
          ess_threshold: Annotated[float, typer.Option("--ess-threshold", help="Advise re-simulation below this effective sample size.")] = 200.0,
          resimulate: Annotated[bool, typer.Option("--resimulate", help="Draw new trials conditioned on the facts.")] = False,
          trials: TrialsOpt = None, force: ForceOpt = False, threads: ThreadsOpt = None) -> None:
    """Actuals against the forecast: the re-forecast, the goal's probability now, initiatives off track, wins."""
    from .track import track as run_track

    with _errors():
        _threads(threads)
        if html_out is not None and html_out.exists() and not force:  # before any work or other output
            from .atomic import OutputExistsError

            raise OutputExistsError(html_out)
        result = run_track(plan_dir, actuals, dispersion=dispersion, metric_sd=metric_sd,
                           ess_threshold=ess_threshold, resimulate=resimulate, resimulate_trials=trials)
        data = result.to_dict()
        if out is not None:
            from .atomic import write_text_atomic

            write_text_atomic(out, json.dumps(data, indent=2, allow_nan=False) + "\n", force=force)
        if html_out is not None:
            from .atomic import write_text_atomic

            try:
                page = result.to_html()
            except ImportError as exc:
                raise RuntimeError(f"--html needs matplotlib ({exc}): pip install 'cxopt[report]'") from None
            write_text_atomic(html_out, page, force=force)
        if result.resimulate_advised and not resimulate:
            err.print(f"note: effective sample size {result.effective_sample_size:.0f} is below "
                      f"{ess_threshold:.0f}: the evidence has left few trials; run again with --resimulate",
                      markup=False)
        if json_:
            print_json(data)
        else:
            from .report.terminal import print_tracking

            print_tracking(data, _out())


# commands kept in modules of their own (each imports this module lazily)
from .cli_report import register as _register_report  # noqa: E402

_register_report(app)

from .cli_calibrate import register as _register_calibrate  # noqa: E402

_register_calibrate(app)

from .cli_scale import register as _register_scale  # noqa: E402

_register_scale(app)


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
