"""The ``stockpile:`` section: every problem in one pass, each with its exact message
(file and line or row, key path, rule, value, hint), and the same section from tables."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.errors import ScenarioError
from sustain.scenario import load_scenario
from tests.scenario.test_bad_input import GOOD

RUNNER = CliRunner()

# Line numbers in the expected messages refer to this text.
BASE = """\
name: Munitions test
stockpile:
  start_month: 2024-01
  months: 6
  consumables:
    - {id: SHELL155, unit_cost: 4000}
    - {id: INT, priority: 10}
  demand:
    - {consumable: SHELL155, from: 2024-01, per_month: 100}
    - {consumable: INT, from: 2024-02, per_month: 5}
  partner_stock: {SHELL155: 50}
  donors:
    - id: DON-A
      stock: {SHELL155: 1000, INT: 20}
      floor: {SHELL155: 600}
      own_use_per_month: {SHELL155: 10}
      lead_months: 1
      production:
        - {consumable: SHELL155, from: 2024-01, per_month: 50}
      surge:
        - {consumable: SHELL155, from: 2024-03, per_month: 20, unit_cost: 6000}
  pledges:
    - {donor: DON-A, consumable: SHELL155, month: 2024-02, qty: 100}
"""
DONORS = BASE[BASE.index("  donors:"):BASE.index("  pledges:")]
CONSUMABLES = BASE[BASE.index("  consumables:"):BASE.index("  demand:")]


@dataclass(frozen=True)
class Case:
    """Edits to :data:`BASE` and the messages they must produce."""

    id: str
    expected: tuple[str, ...]
    edits: tuple[tuple[str, str], ...] = ()
    files: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        text = BASE
        for old, new in self.edits:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        return text


CASES = [
    Case("unknown-section-key",
         ("bad.yaml line 5: stockpile.mnths: unknown key (did you mean 'months'?)",),
         (("  months: 6\n", "  months: 6\n  mnths: 7\n"),)),
    Case("month-13",
         ("bad.yaml line 3: stockpile.start_month: must be a month YYYY-MM (e.g. 2023-01): "
          "got '2024-13'",),
         (("start_month: 2024-01", "start_month: 2024-13"),)),
    Case("a-date-not-a-month",
         ("bad.yaml line 3: stockpile.start_month: must be a month YYYY-MM (e.g. 2023-01): "
          "got 2024-01-15",),
         (("start_month: 2024-01", "start_month: 2024-01-15"),)),
    Case("months-zero", ("bad.yaml line 4: stockpile.months: must be >= 1: got 0",),
         (("months: 6", "months: 0"),)),
    Case("months-true", ("bad.yaml line 4: stockpile.months: must be a whole number: got true",),
         (("months: 6", "months: true"),)),
    Case("misspelt-required-key",
         ("bad.yaml line 10: stockpile.demand[1].frm: unknown key (did you mean 'from'?)",),
         (("{consumable: INT, from: 2024-02", "{consumable: INT, frm: 2024-02"),)),
    Case("unknown-consumable",
         ("bad.yaml line 10: stockpile.demand[1].consumable: 'INTT' is not a consumable id "
          "(did you mean 'INT'?)",),
         (("{consumable: INT, from", "{consumable: INTT, from"),)),
    Case("negative-floor",
         ("bad.yaml line 15: stockpile.donors[0].floor.SHELL155: must be >= 0: got -600",),
         (("floor: {SHELL155: 600}", "floor: {SHELL155: -600}"),)),
    Case("floor-of-unknown-consumable",
         ("bad.yaml line 15: stockpile.donors[0].floor.SHELL15: 'SHELL15' is not a consumable "
          "id (did you mean 'SHELL155'?)",),
         (("floor: {SHELL155: 600}", "floor: {SHELL15: 600}"),)),
    Case("unknown-donor",
         ("bad.yaml line 23: stockpile.pledges[0].donor: 'DON-B' is not a donor id "
          "(did you mean 'DON-A'?)",),
         (("{donor: DON-A, consumable", "{donor: DON-B, consumable"),)),
    Case("pledge-before-start",
         ("bad.yaml line 23: stockpile.pledges[0].month: month 2023-12 is before start_month "
          "2024-01",),
         (("month: 2024-02, qty", "month: 2023-12, qty"),)),
    Case("consumable-twice",
         ("bad.yaml line 8: stockpile.consumables[2]: consumable id 'INT' given twice "
          "(first at bad.yaml line 7)",),
         (("    - {id: INT, priority: 10}", "    - {id: INT, priority: 10}\n    - {id: INT}"),)),
    Case("demand-twice",
         ("bad.yaml line 11: stockpile.demand[2]: demand of 'INT' from 2024-02 given twice "
          "(first at bad.yaml line 10)",),
         (("    - {consumable: INT, from: 2024-02, per_month: 5}",
           "    - {consumable: INT, from: 2024-02, per_month: 5}\n"
           "    - {consumable: INT, from: 2024-02, per_month: 6}"),)),
    Case("pledge-twice",
         ("bad.yaml line 24: stockpile.pledges[1]: pledge of 'SHELL155' by 'DON-A' in 2024-02 "
          "given twice (first at bad.yaml line 23); merge the quantities",),
         (("qty: 100}\n", "qty: 100}\n    - {donor: DON-A, consumable: SHELL155, "
           "month: 2024-02, qty: 5}\n"),)),
    Case("priority-zero", ("bad.yaml line 7: stockpile.consumables[1].priority: must be > 0: "
                           "got 0",),
         (("priority: 10", "priority: 0"),)),
    Case("lead-negative", ("bad.yaml line 17: stockpile.donors[0].lead_months: must be >= 0: "
                           "got -1",),
         (("lead_months: 1", "lead_months: -1"),)),
    Case("lead-fraction", ("bad.yaml line 17: stockpile.donors[0].lead_months: must be a whole "
                           "number: got 1.5",),
         (("lead_months: 1", "lead_months: 1.5"),)),
    Case("production-key",
         ("bad.yaml line 19: stockpile.donors[0].production[0].per_mnth: unknown key "
          "(did you mean 'per_month'?)",),
         (("per_month: 50}", "per_mnth: 50}"),)),
    Case("surge-consumable",
         ("bad.yaml line 21: stockpile.donors[0].surge[0].consumable: 'SHEL155' is not a "
          "consumable id (did you mean 'SHELL155'?)",),
         (("{consumable: SHELL155, from: 2024-03", "{consumable: SHEL155, from: 2024-03"),)),
    Case("usage-without-systems",
         ("bad.yaml line 12: stockpile.usage[0].system: 'HOW155' is not a system id "
          "(the scenario lists no systems)",),
         (("  partner_stock", "  usage:\n    - {consumable: SHELL155, system: HOW155, "
           "per_system_day: 40}\n  partner_stock"),)),
    Case("donors-not-a-list",
         ("bad.yaml line 12: stockpile.donors: must be a list of rows (or {file: table.csv}): "
          "got 5",),
         ((DONORS, "  donors: 5\n"),)),
    Case("no-consumables", ("bad.yaml line 2: stockpile.consumables: required key is missing",),
         ((CONSUMABLES, ""),)),
    Case("section-a-list",
         ("bad.yaml line 2: stockpile: must be a mapping of keys (start_month, months, …): "
          "got a list [1, 2]",),
         ((BASE[BASE.index("stockpile:"):], "stockpile: [1, 2]\n"),)),
    Case("quantity-map-text",
         ("bad.yaml line 14: stockpile.donors[0].stock: must read "
          "'CONSUMABLE:QTY;CONSUMABLE:QTY' (e.g. 'SHELL155:300000'): got 'SHELL155 1000'",),
         (("stock: {SHELL155: 1000, INT: 20}", 'stock: "SHELL155 1000"'),)),
    Case("partner-stock-of-unknown",
         ("bad.yaml line 11: stockpile.partner_stock.SHELL: 'SHELL' is not a consumable id "
          "(did you mean 'SHELL155'?)",),
         (("partner_stock: {SHELL155: 50}", "partner_stock: {SHELL: 50}"),)),
    Case("several-at-once",
         ("bad.yaml line 3: stockpile.start_month: must be a month YYYY-MM (e.g. 2023-01): "
          "got '24-01'",
          "bad.yaml line 16: stockpile.donors[0].own_use_per_month.SHELL155: must be a number: "
          "got 'ten'",
          "bad.yaml line 23: stockpile.pledges[0].qty: must be >= 0: got -100"),
         (("start_month: 2024-01", "start_month: 24-01"),
          ("own_use_per_month: {SHELL155: 10}", "own_use_per_month: {SHELL155: ten}"),
          ("qty: 100", "qty: -100"))),
    Case("demand-table-rows",
         ("demand.csv row 3: from: must be a month YYYY-MM (e.g. 2023-01): got '2024-13'",
          "demand.csv row 4: per_month: must be >= 0: got -3"),
         ((BASE[BASE.index("  demand:"):BASE.index("  partner_stock")],
           "  demand: {file: demand.csv}\n"),),
         {"demand.csv": "consumable,from,per_month\nSHELL155,2024-01,100\nINT,2024-13,5\n"
                        "INT,2024-02,-3\n"}),
    Case("donors-table-columns",
         ("donors.csv: prodution: unknown column (did you mean 'production'?)",
          "donors.csv row 3: floor.SHELL15: 'SHELL15' is not a consumable id "
          "(did you mean 'SHELL155'?)"),
         ((DONORS, "  donors: {file: donors.csv}\n"),
          ("{donor: DON-A, consumable: SHELL155, month: 2024-02, qty: 100}",
           "{donor: DON-B, consumable: SHELL155, month: 2024-02, qty: 10}")),
         {"donors.csv": "id,stock,floor,lead_months,prodution\n"
                        "DON-A,SHELL155:1000;INT:20,SHELL155:600,1,x\n"
                        "DON-B,SHELL155:900,SHELL15:600,0,\n"}),
    Case("nested-production-table",
         ("bad.yaml line 18: stockpile.donors[0].production.file: table file 'nothere.csv' not "
          "found (looked for {dir}/nothere.csv)",),
         (("      production:\n        - {consumable: SHELL155, from: 2024-01, per_month: 50}\n",
           "      production: {file: nothere.csv}\n"),)),
    Case("nested-production-rows",
         ("prod.csv row 3: per_month: must be >= 0: got -5",),
         (("      production:\n        - {consumable: SHELL155, from: 2024-01, per_month: 50}\n",
           "      production: {file: prod.csv}\n"),),
         {"prod.csv": "consumable,from,per_month\nSHELL155,2024-01,50\nSHELL155,2024-04,-5\n"}),
]


def _write(tmp_path: Path, case: Case) -> Path:
    for name, content in case.files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    path = tmp_path / "bad.yaml"
    path.write_text(case.text(), encoding="utf-8")
    return path


def test_cases_are_distinct() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_section(tmp_path: Path, case: Case) -> None:
    path = _write(tmp_path, case)
    expected = [e.replace("{dir}", str(tmp_path.resolve())) for e in case.expected]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [str(i) for i in info.value.issues] == expected
    result = RUNNER.invoke(app, ["stockpile", str(path), "--json"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    n = len(expected)
    assert result.stderr.startswith(f"{n} problem{'s' if n != 1 else ''} in the scenario:\n")
    for message in expected:
        assert f"  {message}\n" in result.stderr


def test_base_is_valid_and_complete() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "good.yaml"
        path.write_text(BASE, encoding="utf-8")
        plan = load_scenario(path).stockpile
    assert plan is not None
    assert plan.month_labels == ("2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06")
    assert [c.id for c in plan.consumables] == ["SHELL155", "INT"]
    (don,) = plan.donors
    assert dict(don.stock) == {"SHELL155": 1000, "INT": 20}
    assert don.lead_months == 1
    assert don.surge[0].unit_cost == 6000
    assert plan.warnings == ()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("floor: {SHELL155: 600}", "floor: {SHELL155: 1600}"),
         "bad.yaml line 15: stockpile.donors[0].floor.SHELL155: warning: floor 1,600 is above "
         "the starting stock 1,000: donor 'DON-A' starts below its SHELL155 floor"),
        (("month: 2024-02, qty", "month: 2025-12, qty"),
         "bad.yaml line 23: stockpile.pledges[0].month: warning: month 2025-12 is after the "
         "last month of the plan (2024-06): this row has no effect"),
        (("{consumable: INT, from: 2024-02, per_month: 5}", "{consumable: SHELL155, "
          "from: 2024-04, per_month: 5}"),
         "bad.yaml line 7: stockpile.consumables[1]: warning: nothing demands 'INT' "
         "(no demand or usage row)"),
    ],
    ids=["floor-above-stock", "pledge-after-horizon", "nothing-demands"],
)
def test_soft_problems_are_warnings_shown_by_the_cli(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BASE.replace(*edit), encoding="utf-8")
    plan = load_scenario(path).stockpile
    assert plan is not None
    assert [str(w) for w in plan.warnings] == [message]
    result = RUNNER.invoke(app, ["stockpile", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == message + "\n"


def test_tables_give_the_same_section_as_inline_yaml(tmp_path: Path) -> None:
    """Every list of the section from a file: CSV, Parquet and XLSX (with a sheet)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from openpyxl import Workbook

    (tmp_path / "inline.yaml").write_text(BASE, encoding="utf-8")
    with (tmp_path / "consumables.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "unit_cost", "priority"], ["SHELL155", 4000, ""],
                                  ["INT", "", 10]])
    pq.write_table(pa.table({"consumable": ["SHELL155", "INT"], "from": ["2024-01", "2024-02"],
                             "per_month": [100.0, 5.0]}), tmp_path / "demand.parquet")
    book = Workbook()
    assert book.active is not None
    book.active.title = "Notes"
    sheet = book.create_sheet("Pledges")
    sheet.append(["donor", "consumable", "month", "qty"])
    import datetime as dt

    sheet.append(["DON-A", "SHELL155", dt.datetime(2024, 2, 1), 100])  # a spreadsheet month
    book.save(tmp_path / "pledges.xlsx")
    (tmp_path / "donors.csv").write_text(
        "id,stock,floor,own_use_per_month,lead_months\n"
        "DON-A,SHELL155:1000;INT:20,SHELL155:600,SHELL155:10,1\n", encoding="utf-8")
    (tmp_path / "surge.csv").write_text(
        "consumable,from,per_month,unit_cost\nSHELL155,2024-03,20,6000\n", encoding="utf-8")
    text = (
        "name: Munitions test\nstockpile:\n  start_month: 2024-01\n  months: 6\n"
        "  consumables: {file: consumables.csv}\n  demand: {file: demand.parquet}\n"
        "  partner_stock: {SHELL155: 50}\n  donors: {file: donors.csv}\n"
        "  pledges: {file: pledges.xlsx, sheet: Pledges}\n"
    )
    (tmp_path / "tables.yaml").write_text(text, encoding="utf-8")
    inline = load_scenario(tmp_path / "inline.yaml").stockpile
    tables = load_scenario(tmp_path / "tables.yaml").stockpile
    assert inline is not None and tables is not None
    assert tables.consumables == inline.consumables
    assert tables.demand == inline.demand
    assert tables.pledges == inline.pledges
    (a,), (b,) = tables.donors, inline.donors
    assert (dict(a.stock), dict(a.floor), dict(a.own_use_per_month), a.lead_months) == (
        dict(b.stock), dict(b.floor), dict(b.own_use_per_month), b.lead_months)
    # A donor's own lists from files too (nested in an inline donor).
    nested = BASE.replace(
        "      surge:\n        - {consumable: SHELL155, from: 2024-03, per_month: 20, "
        "unit_cost: 6000}\n", "      surge: {file: surge.csv}\n")
    (tmp_path / "nested.yaml").write_text(nested, encoding="utf-8")
    plan = load_scenario(tmp_path / "nested.yaml").stockpile
    assert plan is not None
    assert plan.donors[0].surge == b.surge


def test_usage_systems_are_checked_against_the_scenario(tmp_path: Path) -> None:
    """A readiness scenario with a stockpile section: usage names its systems."""
    text = GOOD + (
        "stockpile:\n  start_month: 2024-01\n  months: 2\n  consumables: [{id: MSL}]\n"
        "  usage:\n    - {consumable: MSL, system: SAMY, per_system_day: 0.5}\n"
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [str(i) for i in info.value.issues] == [
        "bad.yaml line 42: stockpile.usage[0].system: 'SAMY' is not a system id "
        "(did you mean 'SAMX'?)"
    ]


def test_munitions_only_scenario_cannot_be_evaluated(tmp_path: Path) -> None:
    path = tmp_path / "munitions.yaml"
    path.write_text(BASE, encoding="utf-8")
    for command in (["evaluate", str(path)], ["optimize", str(path), "--target", "0.9"]):
        result = RUNNER.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert result.stderr.lstrip("\n") == (  # optimize's progress line leaves a newline
            "1 problem in the scenario:\n  munitions.yaml: no sites, fleets, items: readiness "
            "has nothing to evaluate (it has a stockpile section: run `sustain stockpile`)\n"
        )


def test_readiness_tables_stay_required_without_a_stockpile_section(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: nothing\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [i.path for i in info.value.issues] == ["sites", "systems", "fleets", "items"]


def test_reference_page_lists_every_key() -> None:
    """docs/stockpile.md names every key of the field tables (the schema is the source)."""
    from sustain.scenario import schema

    text = (Path(__file__).resolve().parents[2] / "docs" / "stockpile.md").read_text()
    models = [schema.StockpileDoc, *schema.STOCKPILE_TABLES.values(),
              *schema.DONOR_TABLES.values()]
    for model in models:
        for name, f in model.model_fields.items():
            assert f"`{f.alias or name}`" in text, (model.__name__, name)
