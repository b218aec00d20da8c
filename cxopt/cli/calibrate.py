"""``cxopt calibrate``: fit severities and baseline churn to a customer history, write a new scenario.

Registered on the main app by ``cxopt.cli`` (``register(app)``). A thin skin over
:func:`cxopt.calibrate.calibrate`: the tables are drawn from ``Calibration.to_dict()``; the
new scenario is written atomically and an existing file is kept unless ``--force`` (exit 2).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["register", "calibrate_command", "print_calibration"]


def register(app: typer.Typer) -> None:
    """Add the ``calibrate`` command to the ``cxopt`` app."""
    app.command("calibrate")(calibrate_command)


def calibrate_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).", show_default=False)],
    history: Annotated[Path, typer.Option(
        "--history", help="Customer history: the customer file plus 'churned' (Parquet, CSV, directory, glob).")],
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Write the calibrated scenario (TOML) here.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")] = False,
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", min=0, metavar="B",
        help="Uncertainty from B bootstrap resamples (default: the information matrix).")] = 0,
    window_months: Annotated[Optional[int], typer.Option(
        "--window-months", min=1, help="Months the history covers (default: the scenario's horizon).")] = None,
    make_history: Annotated[Optional[int], typer.Option(
        "--make-history", min=1, metavar="N",
        help="First write a synthetic history of N customers to --history, generated from the scenario "
             "(one seeded draw of each severity: the truth the fit should find).")] = None,
    seed: Annotated[Optional[int], typer.Option(
        "--seed", min=0, help="Random seed (default: the scenario's).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Fit severities and baseline churn per segment to a customer history; write them into a new scenario."""
    from cxopt.cli import common as cli
    from cxopt.data.atomic import write_text_atomic
    from cxopt.calibration.fit import calibrate
    from cxopt.data.history import synthetic_history

    with cli.error_boundary():
        sc = cli.load(scenario)
        if out is not None:  # before any work
            from cxopt.data.atomic import check_output

            check_output(out, force=force)
        truth = None
        bar, update = cli.progress_bar(quiet)
        t0 = time.perf_counter()
        if make_history is not None:
            if bar:
                with bar:
                    truth = synthetic_history(sc, make_history, history, seed=seed, force=force, progress=update)
            else:
                truth = synthetic_history(sc, make_history, history, seed=seed, force=force)
            severities = ", ".join(f"{k} {v:.2%}" for k, v in truth["severity"].items())
            cli.err.print(f"wrote a synthetic history of {make_history:,} customers ({truth['churned']:,} left) "
                          f"to {history}; true severities: {severities}", markup=False)
        kwargs = dict(bootstrap=bootstrap, window_months=window_months, seed=seed)
        if bar:
            with bar:
                cal = calibrate(sc, history, progress=update, **kwargs)
        else:
            cal = calibrate(sc, history, **kwargs)
        if out is not None:
            write_text_atomic(out, cal.to_toml(relative_to=out.resolve().parent), force=force)
            cli.err.print(f"wrote the calibrated scenario to {out}", markup=False)
        data = cal.to_dict()
        data["seconds"] = time.perf_counter() - t0
        data["out"] = None if out is None else str(out)
        if truth is not None:
            data["truth"] = truth
        if json_:
            cli.print_json(data)
        else:
            print_calibration(data, cli.out_console())


def _iv(x: dict) -> str:
    """``2.83% (2.68–2.99)``, ``14.8% (14.6–15.0)``: estimate and 90% interval in percent."""
    if x.get("estimate") is None or x.get("interval90") is None:
        return "—"
    lo, hi = x["interval90"]
    d = 1 if x["estimate"] >= 0.1 else 2
    return f"{100 * x['estimate']:.{d}f}% ({100 * lo:.{d}f}–{100 * hi:.{d}f})"


def print_calibration(data: dict, console: Console) -> None:
    """The calibration report: per pain, per segment, fit quality, confounding."""
    from cxopt.report.terminal import money, pct

    cur = data["currency"]
    console.print(
        f"[bold]{escape(data['scenario'])}[/bold] — history {escape(data['history'])}: "
        f"{data['customers']:,} customers, {data['churned']:,} left within {data['window_months']} months "
        f"({pct(data['churn_rate'])}); {data['groups']:,} groups")
    method = data["uncertainty"]
    how = (f"bootstrap, {method['bootstrap']} resamples" if method["method"] == "bootstrap"
           else "information matrix")
    t = Table(title=f"Pain points: fitted severity, 90% interval ({how})", title_justify="left")
    notes = any(p["status"] != "fitted" for p in data["pain_points"])
    for col, just in [("pain point", "left"), ("volume", "right"), ("churn: met", "right"),
                      ("not met", "right"), ("severity (90%)", "right"), ("given", "right"),
                      ("revenue at risk", "right")] + ([("note", "left")] if notes else []):
        t.add_column(col, justify=just, no_wrap=col != "note")
    for p in data["pain_points"]:
        rar = p["revenue_at_risk"]
        row = [escape(p["id"]), pct(p["volume"]), pct(p["churn_exposed"]), pct(p["churn_unexposed"]),
               _iv(p), pct(p["given_mean"], 2),
               money(rar["mean"], cur)]
        note = "" if p["status"] == "fitted" else f"kept as given: {p['status']}"
        t.add_row(*row, *([escape(note)] if notes else []))
    console.print(t)
    t = Table(title="Baseline churn per segment", title_justify="left")
    for col, just in [("segment", "left"), ("customers", "right"), ("churn rate", "right"),
                      ("baseline churn (90%)", "right"), ("given", "right"), ("note", "left")]:
        t.add_column(col, justify=just)
    for s in data["segments"]:
        rate = pct(s["churned"] / s["customers"]) if s["customers"] else "—"
        t.add_row(escape(s["id"]), f"{s['customers']:,}", rate,
                  _iv(s), pct(s["given_mean"], 2),
                  "" if s["status"] == "fitted" else escape(f"kept as given: {s['status']}"))
    console.print(t)
    if data["delighters"]:
        reach = ", ".join(f"{escape(d['id'])} {pct(d['volume'])}" for d in data["delighters"])
        console.print(f"Delighter reach measured: {reach} "
                      "(lifts kept as given: not measurable without an intervention)")

    fit = data["fit"]
    m, lr = fit["noisy_or"], fit["logistic"]
    console.print(
        f"\n[bold]Fit quality[/bold]: log-likelihood {m['log_likelihood']:,.1f} (AIC {m['aic']:,.1f}) for the "
        f"noisy-OR model; {lr['log_likelihood']:,.1f} (AIC {lr['aic']:,.1f}) for a logistic regression on the "
        f"same columns. Mean calibration error {pct(m['calibration_error'], 2)} vs "
        f"{pct(lr['calibration_error'], 2)}.")
    t = Table(title="Calibration by decile of predicted churn", title_justify="left")
    for col in ("decile", "noisy-OR predicted", "observed", "logistic predicted", "observed"):
        t.add_column(col, justify="right")
    for a, b in zip(m["calibration"], lr["calibration"]):
        t.add_row(str(a["decile"]), pct(a["predicted"], 2), pct(a["observed"], 2), pct(b["predicted"], 2),
                  pct(b["observed"], 2))
    console.print(t)

    conf = data["confounding"]
    console.print(f"\n[bold yellow]Caution[/bold yellow]: {escape(conf['warning'])}", markup=True)
    if conf["correlations"]:
        t = Table(title="Exposures that travel together (phi, all customers)", title_justify="left")
        for col, just in [("pain point", "left"), ("with", "left"), ("phi", "right"),
                          ("customers with both", "right")]:
            t.add_column(col, justify=just)
        for c in conf["correlations"]:
            t.add_row(escape(c["a"]), escape(c["b"]), f"{c['phi']:+.3f}", f"{c['both']:,.0f}")
        console.print(t)
    for note in data["notes"]:
        console.print(f"note: {note}", markup=False)
    if data.get("out"):
        console.print(f"Calibrated scenario: {data['out']}", markup=False)
