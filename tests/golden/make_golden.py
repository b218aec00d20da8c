"""Write the stored expected outputs that ``tests/test_golden.py`` compares against.

Run it only when a change of behaviour is intended, and say which in the commit:

    python tests/golden/make_golden.py

Each case is a ``cxopt`` command on a bundled scenario at a small size (fixed seed);
the JSON it prints is stored with every timing (a key containing ``seconds``) removed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SC = ROOT / "scenarios"

# name -> argv after ``cxopt``; {tmp} is a scratch directory shared by the cases, in order
CASES: dict[str, list[str]] = {
    "simulate_article": ["simulate", str(SC / "bottom_up_article.toml"), "--customers", "20000", "--trials", "300",
                         "--seed", "7", "--json", "-q"],
    "optimize_article": ["optimize", str(SC / "bottom_up_article.toml"), "--customers", "20000", "--trials", "300",
                         "--seed", "7", "--json", "-q", "--out", "{tmp}/plan"],
    "frontier_article": ["frontier", str(SC / "bottom_up_article.toml"), "--customers", "20000", "--trials", "300",
                         "--seed", "7", "--budgets", "500000:2000000:4", "--json", "-q"],
    "optimize_b2b": ["optimize", str(SC / "b2b_software.toml"), "--trials", "300", "--seed", "7", "--json", "-q"],
    "track_article": ["track", "{tmp}/plan", str(HERE / "actuals_article.csv"), "--json"],
    "calibrate_history": ["calibrate", str(SC / "history_example.toml"), "--make-history", "20000",
                          "--history", "{tmp}/history.parquet", "--seed", "11", "--json", "-q"],
}


SCRATCH_KEYS = {"out", "history", "path"}  # paths into the scratch directory


def strip_timings(obj):
    """The output without timings (keys containing 'seconds') and without scratch paths."""
    if isinstance(obj, dict):
        return {k: strip_timings(v) for k, v in obj.items() if "seconds" not in k and k not in SCRATCH_KEYS}
    if isinstance(obj, list):
        return [strip_timings(v) for v in obj]
    return obj


def run_case(argv: list[str], tmp: Path) -> dict:
    args = [a.replace("{tmp}", str(tmp)) for a in argv]
    proc = subprocess.run([sys.executable, "-c", "from cxopt.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"cxopt {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return strip_timings(json.loads(proc.stdout))


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cxopt-golden-"))
    try:
        for name, argv in CASES.items():
            out = run_case(argv, tmp)
            (HERE / f"{name}.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
            print(f"wrote {name}.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
