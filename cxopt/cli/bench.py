"""``cxopt bench``: throughput of every stage on a synthetic partitioned base.

Registered on the main app by ``cxopt.cli`` (``register(app)``); a thin skin over
:func:`cxopt.bench.run_bench`. Messages go to stderr, the figures to stdout (one JSON
object with ``--json``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

__all__ = ["register", "bench"]


def bench(
    scenario: Annotated[Optional[Path], typer.Argument(
        help="Scenario file (TOML); default: the built-in benchmark scenario (10 pain points, "
             "2 delighters, 20 initiatives).", show_default=False)] = None,
    customers: Annotated[Optional[int], typer.Option(
        "--customers", min=1, help="Customers in the generated base (default 1,000,000).")] = None,
    trials: Annotated[Optional[int], typer.Option(
        "--trials", min=1, help="Trials (default: the scenario's).")] = None,
    initiatives: Annotated[Optional[int], typer.Option(
        "--initiatives", min=1, help="Initiatives of the built-in scenario (default 20).")] = None,
    base: Annotated[Optional[Path], typer.Option(
        "--base", help="Directory of the partitioned base: reused when it exists, else written there "
                       "and kept (default: a temporary directory).")] = None,
    partitions: Annotated[Optional[int], typer.Option(
        "--partitions", min=1, help="Parquet files of a generated base (default: one a CPU, "
                                    "about 4 million customers each).")] = None,
    cluster: Annotated[Optional[str], typer.Option(
        "--cluster", help="Run the pass over the base on Dask: local, local:WORKERS or tcp://HOST:PORT "
                          "(needs the 'distributed' extra of cxopt).")] = None,
    seed: Annotated[Optional[int], typer.Option(
        "--seed", min=0, help="Random seed (default: the scenario's).")] = None,
    sampled_customers: Annotated[int, typer.Option(
        "--sampled-customers", min=1,
        help="Customers in the sampled kernel vs NumPy reference stage.")] = 100_000,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No messages on stderr.")] = False,
    threads: Annotated[Optional[int], typer.Option(
        "--threads", min=1, help="numba threads (results do not depend on it).")] = None,
) -> None:
    """Time every stage (read, group, simulate, optimise, sampled kernel) on a synthetic base."""
    from cxopt.cli import common as cli
    from cxopt.bench.run import DEFAULT_CUSTOMERS, bench_scenario, format_bench, run_bench
    from cxopt.errors import ArgumentError, Problem

    with cli.error_boundary():
        cli.set_threads(threads)
        if scenario is None:
            n = customers or DEFAULT_CUSTOMERS
            sc = bench_scenario(n, initiatives=initiatives or 20)
        else:
            if initiatives is not None:
                raise ArgumentError(Problem("", "--initiatives", "applies to the built-in benchmark scenario "
                                            "only; a scenario file has its own initiatives"))
            sc = cli.load(scenario)
        if cluster is not None:
            from cxopt.distributed import parse_cluster

            parse_cluster(cluster)  # a malformed --cluster is bad input before minutes of generation
        log = None if quiet else (lambda msg: cli.err.print(msg, markup=False))
        if customers is None and scenario is None and (base is None or not base.exists()):
            customers = DEFAULT_CUSTOMERS
        result = run_bench(sc, customers=customers, trials=trials or sc.scenario.trials,
                           seed=sc.scenario.seed if seed is None else seed, base_dir=base,
                           partitions=partitions, cluster=cluster, sampled_customers=sampled_customers,
                           log=log)
        if json_:
            cli.print_json(result)
        else:
            sys.stdout.write(format_bench(result) + "\n")


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command to the ``cxopt`` app."""
    app.command("bench")(bench)
