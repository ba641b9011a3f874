"""Every option value is checked: one message naming the option, exit 2, nothing on stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import sustain
import sustain.scenario
from sustain.cli.main import app
from sustain.errors import SustainError
from tests.cli.test_evaluate_cli import SMALL
from tests.conftest import EXAMPLES, SHARED

RUNNER = CliRunner()
MUNITIONS = EXAMPLES / "coalition-munitions.yaml"
ORYX = SHARED / "data" / "oryx" / "ukraine_equipment_losses.csv"
SIM = ["--days", "20", "--reps", "2", "--quiet"]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def refused(args: list[str], message: str) -> None:
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "nan"], "--budget nan: must be an amount of money >= 0"),
        (["--budget", "inf"], "--budget inf: must be an amount of money >= 0"),
        (["--budget", "-1"], "--budget -1.0: must be an amount of money >= 0"),
        (["--target", "0"], "--target '0': must be a fraction above 0 and at most 1, like 0.9"),
        (["--target", "nan"],
         "--target 'nan': must be a fraction above 0 and at most 1, like 0.9"),
        (["--target", "SAMX=-0.5"],
         "--target 'SAMX=-0.5': must be a fraction above 0 and at most 1, like 0.9"),
        (["--target", "1e300"],
         "--target '1e300': must be a fraction above 0 and at most 1, like 0.9"),
        (["-t", "0.9", "--top", "0"], "--top 0: must be a whole number >= 1"),
        (["-t", "0.9", "--refine-seconds", "-1"],
         "--refine-seconds -1.0: must be a number of seconds (or inf) >= 0"),
        (["-t", "0.9", "--refine-seconds", "nan"],
         "--refine-seconds nan: must be a number of seconds (or inf) >= 0"),
        (["-t", "0.9", "--curve", "c.md"],
         "--curve c.md: unknown output type '.md' (use .csv, .json, .png, .svg or .pdf)"),
        (["-t", "0.9", "-o", "p.png"],
         "--output p.png: unknown output type '.png' (use .md, .json, .csv, .xlsx, .html or "
         ".parquet)"),
    ],
)
def test_optimize(small: Path, args: list[str], message: str) -> None:
    refused(["optimize", str(small), *args], message)


def test_evaluate_top(small: Path) -> None:
    refused(["evaluate", str(small), "--top", "-1"], "--top -1: must be a whole number >= 1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "nan"], "--days nan: days must be a positive number of at most 36,500"),
        (["--days", "-inf"], "--days -inf: days must be a positive number of at most 36,500"),
        (["--days", "1e300"],
         "--days 1e+300: days must be a positive number of at most 36,500"),
        (["--warmup", "nan"],
         "--warmup nan: warmup_days must be >= 0 and less than days (20)"),
        (["--warmup", "-1"], "--warmup -1: warmup_days must be >= 0 and less than days (20)"),
        (["--reps", "99999999999999999999"],
         "--reps 99999999999999999999: replications must be a whole number >= 1 and at most "
         "1,000,000"),
        (["--workers", "0"], "--workers 0: must be a whole number from 1 to 1,024"),
        (["--seed", "-1"],
         "--seed -1: must be a whole number from 0 to 9,223,372,036,854,775,807"),
        (["--dask", "not a url"],
         "--dask 'not a url': expected a scheduler address such as tcp://host:8786"),
        (["--dask", "tcp://host:99999"],
         "--dask 'tcp://host:99999': expected a scheduler address such as tcp://host:8786"),
        (["--plot", "x.gif"], "--plot x.gif: unknown plot type '.gif' (use .png, .svg or .pdf)"),
    ],
)
def test_simulate(small: Path, args: list[str], message: str) -> None:
    refused(["simulate", str(small), *SIM, *args], message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--top", "0"], "--top 0: must be a whole number >= 1"),
        (["--workers", "99999999999999999999"],
         "--workers 99999999999999999999: must be a whole number from 1 to 1,024"),
    ],
)
def test_stockpile(args: list[str], message: str) -> None:
    refused(["stockpile", str(MUNITIONS), "--quiet", *args], message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2023-01-01", "--days", "99999999999999999999"],
         "--days 99999999999999999999: must be at most 36,500 (100 years)"),
        (["--from", "9999-01-01", "--days", "1000"],
         "--days 1000: the period leaves the calendar (years 1 to 9999)"),
        (["--to", "0001-01-05", "--days", "10"],
         "--days 10: the period leaves the calendar (years 1 to 9999)"),
    ],
)
def test_oryx(args: list[str], message: str) -> None:
    refused(["oryx", str(ORYX), "-p", "Bradley", "-n", "10", *args], message)


@pytest.mark.parametrize("command", ["evaluate", "optimize", "simulate", "stockpile"])
def test_allow_outside_tables_reaches_the_loader(
    small: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command that loads a scenario passes --allow-outside-tables to the loader."""
    seen: list[dict[str, Any]] = []

    def loader(path: Path, **options: Any) -> Any:
        seen.append(options)
        raise SustainError("stop here")

    monkeypatch.setattr(sustain.scenario, "load_scenario", loader)
    extra = {"optimize": ["-t", "0.9"], "simulate": SIM}.get(command, [])
    for flag, expected in (([], {"allow_outside_tables": False}),
                           (["--allow-outside-tables"], {"allow_outside_tables": True})):
        result = RUNNER.invoke(app, [command, str(small), *extra, *flag])
        assert (result.exit_code, result.stderr) == (2, "error: stop here\n")
        assert seen.pop() == expected


def test_refine_seconds_help_names_the_library_default() -> None:
    """The CLI leaves the default to the library; its help must name the same number."""
    from sustain.optimize.api import REFINE_SECONDS

    result = CliRunner().invoke(app, ["optimize", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert f"default {REFINE_SECONDS:g})" in " ".join(result.stdout.split())


def test_running_out_of_memory_is_one_message(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    """An allocation the estimates could not foresee ends the run with one line, exit 2,
    and no output file."""
    def no_memory(*args: Any, **kwargs: Any) -> None:
        raise MemoryError("Unable to allocate 114. MiB")

    monkeypatch.setattr(sustain, "evaluate", no_memory)
    report = tmp_path / "r.md"
    result = RUNNER.invoke(app, ["evaluate", str(EXAMPLES / "coalition-air-defence.yaml"),
                                 "-o", str(report)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: out of memory: ")
    assert "Traceback" not in result.stderr and not report.exists()
