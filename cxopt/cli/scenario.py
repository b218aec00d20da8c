"""``cxopt validate``, ``risk`` and ``generate``: the scenario, its market at risk, a synthetic base."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from cxopt.cli.common import (BaseOpt, CustomersOpt, ForceOpt, JsonOpt, NoCacheOpt, QuietOpt, ScenarioArg, SeedOpt, ThreadsOpt, customer_base, err, error_boundary, load, out_console, print_json, progress_bar,
                              set_threads)


def validate(scenario: ScenarioArg) -> None:
    """Check a scenario file and the customer file it names; print every problem (exit 2) or a one-line summary."""
    with error_boundary():
        sc = load(scenario)
        if sc.customers.path is not None:  # what the scenario points to: read it through, as every command would
            customer_base(sc, None, None, None).group()
        err.print(
            f"{scenario}: ok — {len(sc.pain_points)} pain points, {len(sc.delighters)} delighters, "
            f"{len(sc.initiatives)} initiatives, horizon {sc.horizon_months} months", markup=False)


def risk(scenario: ScenarioArg, json_: JsonOpt = False, customers: CustomersOpt = None, base: BaseOpt = None,
         seed: SeedOpt = None, quiet: QuietOpt = False, threads: ThreadsOpt = None,
         no_cache: NoCacheOpt = False) -> None:
    """Market at risk today: each pain point's volume, severity, customers and revenue at risk."""
    from cxopt.plan.risk import market_at_risk

    with error_boundary():
        set_threads(threads)
        sc = load(scenario)
        b = customer_base(sc, customers, base, seed, no_cache)
        report = market_at_risk(sc, b.group())
        if json_:
            print_json(report.to_dict())
        else:
            from cxopt.report.terminal import print_risk

            print_risk(report, out_console())


def generate(scenario: ScenarioArg,
             customers: Annotated[int, typer.Option("--customers", min=1, help="Number of customers.")],
             out: Annotated[Path, typer.Option("--out", help="Output Parquet file (or directory with --partitions).")],
             partitions: Annotated[Optional[int], typer.Option("--partitions", min=1, help="Write a directory of P Parquet files, in parallel.")] = None,
             seed: SeedOpt = None, force: ForceOpt = False, quiet: QuietOpt = False) -> None:
    """Write a synthetic customer base (Parquet, in row groups, atomically)."""
    import threading

    from cxopt.data.customers import CustomerBase, write_partitioned

    with error_boundary():
        from cxopt.data.atomic import check_output

        sc = load(scenario)
        check_output(out, force=force, directory=partitions is not None)  # before any work
        b = CustomerBase.synthetic(sc, n=customers, seed=seed)
        bar, update = progress_bar(quiet)
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


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``risk``, ``generate`` to the ``cxopt`` app."""
    app.command()(validate)
    app.command()(risk)
    app.command()(generate)
