"""Output files: never over an input, all or none, regular files only, errors name the output."""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sustain.cli.main import app
from tests.cli.test_evaluate_cli import SMALL
from tests.conftest import EXAMPLES

RUNNER = CliRunner()
SIM = ["--days", "20", "--reps", "2", "--seed", "1", "--quiet"]


def run(*args: str | Path) -> Any:
    return RUNNER.invoke(app, [str(a) for a in args])


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding small.yaml, as the current directory (messages show relative paths)."""
    (tmp_path / "small.yaml").write_text(SMALL)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(result: Any, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- never over an input ----------------------------------------------------------


def test_output_over_the_scenario_is_refused(work: Path) -> None:
    """A JSON scenario, so that the output's type (.json) is one -o writes."""
    (work / "small.json").write_text(json.dumps(yaml.safe_load(SMALL)))
    before = (work / "small.json").read_bytes()
    refused(run("evaluate", "small.json", "-o", "small.json"),
            "--output small.json: is the scenario file this run reads; choose another path")
    refused(run("evaluate", "small.json", "-o", "sub/../small.json"),
            "--output sub/../small.json: is the scenario file this run reads; "
            "choose another path")
    assert (work / "small.json").read_bytes() == before


def test_output_over_the_scenario_through_a_link_is_refused(work: Path) -> None:
    (work / "link.md").symlink_to("small.yaml")
    os.link(work / "small.yaml", work / "hard.md")
    before = (work / "small.yaml").read_bytes()
    refused(run("evaluate", "small.yaml", "-o", "link.md"),
            "--output link.md: is the scenario file this run reads; choose another path")
    refused(run("evaluate", "small.yaml", "-o", "hard.md"),
            "--output hard.md: is the scenario file this run reads; choose another path")
    assert (work / "small.yaml").read_bytes() == before


def test_output_over_a_table_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ex"
    folder.mkdir()
    for name in ("coalition-air-defence.yaml", "coalition-air-defence-items.csv"):
        (folder / name).write_bytes((EXAMPLES / name).read_bytes())
    table = folder / "coalition-air-defence-items.csv"
    before = table.read_bytes()
    result = run("optimize", folder / "coalition-air-defence.yaml", "-t", "0.5", "-o", table)
    refused(result, f"--output {table}: is a table file of the scenario "
            "(coalition-air-defence-items.csv) this run reads; choose another path")
    assert table.read_bytes() == before


def test_a_table_outside_the_folder_needs_the_option_and_is_an_input(tmp_path: Path) -> None:
    """--allow-outside-tables lets the scenario read ../shared/items.csv, which is then an
    input like any other: no output may replace it."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "sc").mkdir()
    table = tmp_path / "shared" / "items.csv"
    table.write_bytes((EXAMPLES / "coalition-air-defence-items.csv").read_bytes())
    text = (EXAMPLES / "coalition-air-defence.yaml").read_text()
    assert "{file: coalition-air-defence-items.csv}" in text
    scenario = tmp_path / "sc" / "s.yaml"
    scenario.write_text(text.replace("{file: coalition-air-defence-items.csv}",
                                     "{file: ../shared/items.csv}"))
    result = run("evaluate", scenario, "-q")
    assert result.exit_code == 2
    assert "is outside the scenario's folder" in result.stderr
    assert "(--allow-outside-tables)" in result.stderr
    before = table.read_bytes()
    refused(run("evaluate", scenario, "--allow-outside-tables", "-o", table),
            f"--output {table}: is a table file of the scenario (items.csv) this run reads; "
            "choose another path")
    assert table.read_bytes() == before
    report = tmp_path / "r.md"
    assert run("evaluate", scenario, "--allow-outside-tables", "-o", report, "-q").exit_code == 0
    assert report.read_text().startswith("# Readiness report")


def test_output_over_the_stock_plan_is_refused(work: Path) -> None:
    (work / "plan.csv").write_text("item,site,qty\nTX,WEST,2\n")
    refused(run("simulate", "small.yaml", *SIM, "--stock", "plan.csv", "-o", "plan.csv"),
            "--output plan.csv: is the stock plan this run reads; choose another path")
    assert (work / "plan.csv").read_text() == "item,site,qty\nTX,WEST,2\n"


def test_two_outputs_to_one_file_are_refused(work: Path) -> None:
    refused(run("optimize", "small.yaml", "-t", "0.9", "-o", "a.csv", "--curve", "./a.csv"),
            "--curve a.csv: names the same file as --output a.csv; "
            "give each output its own file")
    assert listing(work) == ["small.yaml"]


# -- all or none --------------------------------------------------------------------


def test_optimize_writes_nothing_when_the_second_output_cannot_be(work: Path) -> None:
    (work / "plan.csv").write_text("old plan\n")
    refused(run("optimize", "small.yaml", "-t", "0.9", "-o", "plan.csv", "--curve",
                "nodir/c.png"),
            "--curve nodir/c.png: the folder nodir does not exist")
    assert (work / "plan.csv").read_text() == "old plan\n"
    assert listing(work) == ["plan.csv", "small.yaml"]


def test_simulate_writes_nothing_when_the_plot_cannot_be(work: Path) -> None:
    (work / "out.json").write_text("{}\n")
    refused(run("simulate", "small.yaml", *SIM, "-o", "out.json", "--plot", "nodir/x.png"),
            "--plot nodir/x.png: the folder nodir does not exist")
    assert (work / "out.json").read_text() == "{}\n"


def test_both_outputs_written(work: Path) -> None:
    (work / "plan.csv").write_text("old plan\n")
    result = run("optimize", "small.yaml", "-t", "0.9", "-o", "plan.csv", "--curve", "c.json",
                 "-q")
    assert result.exit_code == 0, result.output
    assert (work / "plan.csv").read_text().startswith("item,site,held,buy,qty,unit_cost,cost\n")
    assert (work / "c.json").read_text().startswith("[\n")
    assert listing(work) == ["c.json", "plan.csv", "small.yaml"]
    mode = stat.S_IMODE((work / "plan.csv").stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


# -- what a target may be -------------------------------------------------------------


def test_a_fifo_is_refused(work: Path) -> None:
    os.mkfifo(work / "pipe.md")
    refused(run("evaluate", "small.yaml", "-o", "pipe.md"),
            "--output pipe.md: is a named pipe (FIFO); outputs are written to regular files "
            "only")
    assert stat.S_ISFIFO((work / "pipe.md").lstat().st_mode)


def test_a_character_device_is_refused(work: Path) -> None:
    """``-o /dev/full`` must never replace the device: a device of our own stands in."""
    label = "full.md"
    if os.geteuid() != 0:
        device = Path("/dev/null")  # only root can make a device node; /dev/null is safe
        (work / label).symlink_to(device)
    else:
        device = work / label
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    before = device.lstat()
    refused(run("evaluate", "small.yaml", "-o", label),
            f"--output {label}: is a character device; outputs are written to regular "
            "files only")
    after = device.lstat()
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_a_folder_is_refused(work: Path) -> None:
    (work / "out.md").mkdir()
    refused(run("evaluate", "small.yaml", "-o", "out.md"),
            "--output out.md: is a directory; outputs are written to regular files only")


def test_a_read_only_file_is_refused(work: Path) -> None:
    """Refused even for root, whom the file system would let replace it."""
    (work / "keep.md").write_text("keep\n")
    (work / "keep.md").chmod(0o444)
    refused(run("evaluate", "small.yaml", "-o", "keep.md"),
            "--output keep.md: the file is read-only; make it writable or choose another path")
    assert (work / "keep.md").read_text() == "keep\n"


def test_a_link_is_written_through(work: Path) -> None:
    """The file a symbolic link points to is replaced; the link stays a link."""
    (work / "reports").mkdir()
    (work / "reports" / "r.md").write_text("old\n")
    (work / "latest.md").symlink_to("reports/r.md")
    result = run("evaluate", "small.yaml", "-o", "latest.md", "-q")
    assert result.exit_code == 0, result.output
    assert (work / "latest.md").is_symlink()
    assert (work / "reports" / "r.md").read_text().startswith("# Readiness report: small.yaml")
    assert listing(work / "reports") == ["r.md"]


def test_a_link_loop_is_refused(work: Path) -> None:
    (work / "a.md").symlink_to("b.md")
    (work / "b.md").symlink_to("a.md")
    result = run("evaluate", "small.yaml", "-o", "a.md")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --output a.md: ")
    assert (work / "a.md").is_symlink() and (work / "b.md").is_symlink()


def test_a_write_error_names_the_output(work: Path) -> None:
    """A file-size limit makes writing fail: the message names -o's file, not a temporary."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    (work / "r.md").write_text("old\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from sustain.cli.main import main; main()",
         "evaluate", "small.yaml", "-o", "r.md", "-q"],
        preexec_fn=limit, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "error: --output r.md: cannot write: File too large\n"
    assert (work / "r.md").read_text() == "old\n"
    assert listing(work) == ["r.md", "small.yaml"]


def test_a_plot_too_large_for_a_png_is_refused(work: Path) -> None:
    """One row of panels per consumable: 170 rows are 67,320 pixels high at 110 dpi."""
    n = 170
    lines = ["name: many", "stockpile:", "  start_month: 2024-01", "  months: 3",
             "  consumables:", *(f"    - {{id: C{i}, unit_cost: 1}}" for i in range(n)),
             "  demand:",
             *(f"    - {{consumable: C{i}, from: 2024-01, per_month: 10}}" for i in range(n)),
             "  donors:", "    - id: D",
             "      stock: {" + ", ".join(f"C{i}: 5" for i in range(n)) + "}"]
    (work / "many.yaml").write_text("\n".join(lines) + "\n")
    refused(run("stockpile", "many.yaml", "--plot", "s.png", "-q"),
            "--plot s.png: the plot would be 1,650 × 67,320 pixels; a PNG is drawn at most "
            "65,535 pixels each way: write .svg or .pdf instead")
    assert listing(work) == ["many.yaml", "small.yaml"]


def test_a_plot_without_matplotlib_says_how_to_install_it(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked with the other outputs, before any work."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    refused(run("optimize", "small.yaml", "-t", "0.9", "-o", "p.csv", "--curve", "c.png"),
            "--curve: plotting needs the optional dependencies of sustain[plot]: "
            "pip install 'sustain[plot]'")
    assert listing(work) == ["small.yaml"]
