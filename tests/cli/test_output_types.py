"""``-o FILE`` by extension, the same for evaluate, optimize, simulate and stockpile:
each type written as what it claims to be, several at once, unknown types refused
before any work, and all or none."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.report.model import Column, Kind, Table
from sustain.report.outputs import table_csv
from sustain.report.xlsx import SHEET_NAME_MAX, number_format, sheet_names
from tests.cli.test_evaluate_cli import SMALL
from tests.stockpile.helpers import donor, flat_demand, section

RUNNER = CliRunner()
TYPES = (".md", ".json", ".csv", ".xlsx", ".html")


def run(*args: str | Path) -> Any:
    return RUNNER.invoke(app, [str(a) for a in args])


def _stockpile_yaml() -> str:
    doc = {"name": "rounds", "stockpile": section(
        months=4, donors=[donor("DONOR-A", stock=300, floor=100, output=20)],
        demand=flat_demand(120))}
    return yaml.safe_dump(doc, sort_keys=False)


#: Per command: the arguments after the scenario, the scenario text, the sheets of its
#: workbook, and the header of its CSV (optimize: the stock plan of ``make run``).
COMMANDS: dict[str, tuple[list[str], str, list[str], list[str]]] = {
    "evaluate": ([], SMALL, ["fleets", "backorders"],
                 ["system", "site", "systems", "availability", "expected available"]),
    "optimize": (["-t", "0.9", "-q"], SMALL, ["fleets", "backorders", "purchases"],
                 ["item", "site", "held", "buy", "qty", "unit_cost", "cost"]),
    "simulate": (["--days", "40", "--reps", "3", "--seed", "2", "-q"], SMALL, ["fleets"],
                 ["system", "site", "systems", "availability", "95 % low", "95 % high"]),
    "stockpile": ([], _stockpile_yaml(), ["consumables", "monthly", "donors"],
                  ["consumable", "month", "demand", "arrivals", "used", "shortfall",
                   "partner stock", "months of cover"]),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_type_at_once(tmp_path: Path, command: str) -> None:
    """Five -o in one run: each file is of its type; the JSON file is --json's document."""
    extra, text, sheets, header = COMMANDS[command]
    scenario = tmp_path / "in.yaml"
    scenario.write_text(text)
    files = [tmp_path / f"out{t}" for t in TYPES]
    result = run(command, scenario, *extra, "--json", *(a for f in files for a in ("-o", f)))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    md, js, cs, xl, ht = files

    assert json.loads(js.read_text()) == doc
    first = md.read_text().splitlines()[0]
    assert first.startswith("# ") and ": " in first
    assert ht.read_text().lstrip().lower().startswith("<!doctype html>")

    rows = list(csv.reader(io.StringIO(cs.read_text())))
    assert rows[0] == header
    if command in ("evaluate", "simulate"):  # one row per fleet, availability a share
        assert [r[:2] for r in rows[1:]] == [[f["system"], f["site"]] for f in doc["fleets"]]
        assert [float(r[3]) for r in rows[1:]] == pytest.approx(
            [f["availability"] for f in doc["fleets"]], rel=1e-12)
    if command == "stockpile":  # a row per consumable and month
        assert len(rows) - 1 == len(doc["months"]) * len(doc["consumables"])
        assert [float(r[2]) for r in rows[1:]] == doc["consumables"][0]["demand"]

    wb = openpyxl.load_workbook(xl)
    assert [name for name in wb.sheetnames if name in sheets] == sheets
    head = [c.value for c in wb[sheets[0]][1]]
    assert all(c.font.b for c in wb[sheets[0]][1])
    if command != "stockpile":  # availability of the first fleet: a number, as a percent
        cell = wb["fleets"].cell(row=2, column=head.index("availability") + 1)
        assert isinstance(cell.value, float) and cell.number_format.endswith("%")
        assert cell.value == pytest.approx(doc["fleets"][0]["availability"], rel=1e-12)
    else:
        cell = wb["consumables"].cell(row=2, column=head.index("short") + 1)
        assert isinstance(cell.value, float) and cell.number_format.endswith("%")
    if command == "optimize":
        cost = wb["purchases"].cell(row=2, column=5)
        assert cost.value == max(p["cost"] for p in doc["purchases"])
        assert cost.number_format == "#,##0"


def test_evaluate_markdown_holds_the_fleets_of_the_json(tmp_path: Path) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    report = tmp_path / "r.md"
    result = run("evaluate", scenario, "--json", "-o", report)
    assert result.exit_code == 0, result.output
    text = report.read_text()
    for f in json.loads(result.stdout)["fleets"]:
        assert (f"| {f['system']} | {f['site']} | {f['count']} | "
                f"{100 * f['availability']:.1f} % | {f['expected_available']:.2f} |") in text


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("bad", ["plan.png", "report", "x.MD.txt"])
def test_an_unknown_type_is_refused_before_any_work(tmp_path: Path, command: str,
                                                    bad: str) -> None:
    """The scenario does not even exist: the option is checked first; nothing written."""
    good = tmp_path / "r.md"
    result = run(command, tmp_path / "missing.yaml", *COMMANDS[command][0], "-o", good,
                 "-o", tmp_path / bad)
    assert result.exit_code == 2
    suffix = repr(Path(bad).suffix) if Path(bad).suffix else "none"
    assert result.stderr == (f"error: --output {tmp_path / bad}: unknown output type {suffix} "
                             "(use .md, .json, .csv, .xlsx, .html or .parquet)\n")
    assert list(tmp_path.iterdir()) == []


def test_types_are_case_blind(tmp_path: Path) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    result = run("evaluate", scenario, "-q", "-o", tmp_path / "R.JSON")
    assert result.exit_code == 0, result.output
    assert "fleets" in json.loads((tmp_path / "R.JSON").read_text())


def test_xlsx_without_openpyxl_is_one_message(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl fails
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    result = run("evaluate", scenario, "-o", tmp_path / "r.md", "-o", tmp_path / "r.xlsx")
    assert result.exit_code == 2
    assert result.stderr == (f"error: --output {tmp_path / 'r.xlsx'}: an Excel workbook needs "
                             "the optional dependencies of sustain[tables]: pip install "
                             "'sustain[tables]'\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml"]


def test_one_failing_type_writes_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(report: object, path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sustain.report.xlsx.write_xlsx", full)
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    (tmp_path / "r.md").write_text("old\n")
    result = run("evaluate", scenario, "-o", tmp_path / "r.md", "-o", tmp_path / "r.xlsx",
                 "-o", tmp_path / "r.csv")
    assert result.exit_code == 2
    assert result.stderr == (f"error: --output {tmp_path / 'r.xlsx'}: cannot write: "
                             "No space left on device\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md", "small.yaml"]
    assert (tmp_path / "r.md").read_text() == "old\n"


def test_the_same_file_twice_is_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    result = run("simulate", scenario, "-o", tmp_path / "a.md", "-o", tmp_path / "a.md")
    assert result.exit_code == 2
    assert "names the same file as --output" in result.stderr


# -- the writers ---------------------------------------------------------------------


def test_csv_keeps_numbers_as_numbers_and_leaves_unknowns_empty() -> None:
    table = Table("t", (Column("fleet"), Column("availability", Kind.PERCENT),
                        Column("cost", Kind.MONEY, unit="EUR"), Column("n", Kind.INT)),
                  (("A", 0.125, 1234567.5, 3.0), ("B", None, float("nan"), 4)))
    assert table_csv(table) == ("fleet,availability,cost (EUR),n\n"
                                "A,0.125,1234567.5,3\nB,,,4\n")


def test_sheet_names_are_valid_and_distinct() -> None:
    def t(name: str) -> Table:
        return Table(name, (Column("a"),), ())

    long = "where one more unit of committed production pays"
    names = sheet_names([t(long), t(long), t("a/b: c?"), t("Fleets"), t("fleets")])
    assert names == [long[:SHEET_NAME_MAX], long[:SHEET_NAME_MAX - 4] + " (2)", "a_b_ c_",
                     "Fleets", "fleets (2)"]
    assert all(len(n) <= SHEET_NAME_MAX for n in names)


def test_number_formats_follow_the_column_kind() -> None:
    assert number_format(Column("a", Kind.PERCENT, digits=1)) == "0.0%"
    assert number_format(Column("a", Kind.PERCENT, digits=0)) == "0%"
    assert number_format(Column("c", Kind.MONEY)) == "#,##0"
    assert number_format(Column("x", Kind.NUMBER, digits=3)) == "#,##0.000"
    assert number_format(Column("n", Kind.INT)) == "0"
    assert number_format(Column("s")) == "General"
