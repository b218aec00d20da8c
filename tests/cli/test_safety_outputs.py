"""Outputs from the command line (issue 16): refused before any work when they cannot be
written or already exist (a dangling link too); ``--force`` replaces only a plan directory
cxopt wrote; ``optimize --out`` always writes report.html."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import SMALL_RUN, assert_clean_error, invoke, small  # noqa: F401  (fixture)


def touch(path: Path) -> Path:
    path.write_text("x")
    return path


@pytest.mark.parametrize("command", ["generate", "simulate", "optimize", "report"])
@pytest.mark.parametrize("make, needle", [
    (lambda d: Path("."), "not a name"),
    (lambda d: touch(d / "afile") / "out", "not a directory"),
], ids=["dot", "under-a-file"])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(small, tmp_path, command, make, needle):
    out = make(tmp_path)
    args = {"generate": ["--customers", "100"], "simulate": SMALL_RUN, "optimize": SMALL_RUN,
            "report": SMALL_RUN}[command]
    result = invoke(command, small, "--out", out, "--force", *args)
    assert_clean_error(result, 2, "--out", str(out), needle)


@pytest.mark.parametrize("command", ["generate", "optimize"])
def test_a_dangling_symlink_at_the_output_needs_force(small, tmp_path, command):
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "nowhere")
    args = ["--customers", "100"] if command == "generate" else SMALL_RUN
    result = invoke(command, small, "--out", out, *args)
    assert_clean_error(result, 2, str(out), "--force")
    assert out.is_symlink()
    result = invoke(command, small, "--out", out, "--force", *args)
    assert result.exit_code == 0, result.stderr
    assert not out.is_symlink() and not (tmp_path / "nowhere").exists()


@pytest.fixture(scope="module")
def plan_dir(small, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plans") / "plan"
    result = invoke("optimize", small, "--out", out, *SMALL_RUN)
    assert result.exit_code == 0, result.stderr
    return out


def test_optimize_out_always_writes_report_html(plan_dir):
    page = (plan_dir / "report.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "<img" in page or "<svg" in page


@pytest.mark.parametrize("intruder", ["actuals-2027-01.csv", ".~lock.plan.md#", "notes"])
def test_force_refuses_a_plan_directory_holding_someone_elses_files(small, plan_dir, tmp_path, intruder):
    import shutil

    out = tmp_path / "plan"
    shutil.copytree(plan_dir, out)
    (out / intruder).write_text("mine")
    before = sorted(p.name for p in out.iterdir())
    result = invoke("optimize", small, "--out", out, "--force", *SMALL_RUN)
    assert_clean_error(result, 2, str(out), intruder)
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / intruder).read_text() == "mine"


def test_force_refuses_a_directory_that_is_not_a_plan(small, tmp_path):
    out = tmp_path / "photos"
    out.mkdir()
    touch(out / "holiday.jpg")
    result = invoke("optimize", small, "--out", out, "--force", *SMALL_RUN)
    assert_clean_error(result, 2, str(out), "not a plan directory")
    assert [p.name for p in out.iterdir()] == ["holiday.jpg"]


def test_force_replaces_a_plan_directory_cxopt_wrote(small, plan_dir, tmp_path):
    import shutil

    out = tmp_path / "plan"
    shutil.copytree(plan_dir, out)
    result = invoke("optimize", small, "--out", out, "--force", "--json", *SMALL_RUN, "--seed", "5")
    assert result.exit_code == 0, result.stderr
    assert json.loads((out / "plan.json").read_text())["selected"] == json.loads(result.stdout)["selected"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]


def test_the_core_install_carries_the_report():
    """``pip install .`` (no extras) must give ``cxopt report`` and report.html in every plan."""
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    core = {d.split(">")[0].split("[")[0].split("=")[0].strip().lower() for d in project["dependencies"]}
    assert "matplotlib" in core
