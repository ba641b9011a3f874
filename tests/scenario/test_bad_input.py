"""Malformed scenarios: every problem found in one pass, each with its exact message.

Each case starts from :data:`GOOD` (a small valid scenario), breaks it, and checks

* the exact lines of ``ScenarioError.issues`` (``str`` of each issue: file, line or
  row, key path, rule, value and hint) from :func:`sustain.scenario.load_scenario`;
* ``sustain evaluate FILE --json``: exit code 2, every message on stderr, nothing on
  stdout, no traceback; and ``-o report.md`` neither creates nor overwrites a report.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sustain.cli import main as cli_main
from sustain.errors import ScenarioError
from sustain.scenario import Scenario, load_scenario

# Line numbers in the expected messages refer to this text (edits keep them unless
# they add lines, which the cases say).
GOOD = """\
name: Test scenario
currency: EUR
sites:
  - id: HUB
    kind: depot
  - id: WEST
    kind: base
    parent: HUB
    order_ship_days: 4
systems:
  - id: SAMX
    name: Medium-range air-defence battery
fleets:
  - system: SAMX
    site: WEST
    count: 2
    hours_per_day: 20
items:
  - id: TX
    unit_cost: 1200000
    mtbf_hours: 1500
    installed_in:
      - {system: SAMX, qty: 1}
    base_repair_fraction: 0.2
    base_repair_days: 3
    depot_repair_days: 25
    condemnation_fraction: 0.0
    procurement_days: 180
  - id: TX-PSU
    unit_cost: 90000
    parent: TX
    replace_fraction: 0.5
    depot_repair_days: 20
stock:
  - {item: TX, site: WEST, qty: 1}
  - {item: TX, site: HUB, qty: 2}
"""

# The same scenario with its items in a CSV file (``items:`` on line 18, stock rows on
# lines 20-21).
GOOD_WITH_CSV = (
    GOOD.split("items:\n")[0] + "items: {file: items.csv}\nstock:" + GOOD.split("stock:")[1]
)
ITEMS_CSV = """\
id,unit_cost,mtbf_hours,installed_in,parent,replace_fraction,base_repair_fraction,\
base_repair_days,depot_repair_days,condemnation_fraction,procurement_days
TX,1200000,1500,SAMX:1,,,0.2,3,25,0.0,180
TX-PSU,90000,,,TX,0.5,,,20,,
"""

# A small JSON scenario: items[0] (with a misspelt key) is on line 7.
GOOD_JSON = """\
{
  "name": "Test scenario",
  "sites": [{"id": "HUB"}, {"id": "WEST", "parent": "HUB"}],
  "systems": [{"id": "SAMX"}],
  "fleets": [{"system": "SAMX", "site": "WEST", "count": 2, "hours_per_day": 20}],
  "items": [
    {"id": "TX", "mtbf_hours": 1500, "installed_in": [{"system": "SAMX"}],
     "depot_repair_days": 25}
  ]
}
"""

RUNNER = CliRunner()


def _edit(text: str, edits: tuple[tuple[str, str], ...]) -> str:
    for old, new in edits:
        assert text.count(old) == 1, f"edit target must occur once: {old!r}"
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class Case:
    """One malformed scenario: edits to a base text (or a whole text) and the messages."""

    id: str
    expected: tuple[str, ...]
    edits: tuple[tuple[str, str], ...] = ()
    text: str | None = None
    base: str = GOOD
    name: str = "bad.yaml"
    files: dict[str, str] = field(default_factory=dict)

    def scenario_text(self) -> str:
        return self.text if self.text is not None else _edit(self.base, self.edits)


def _csv(*edits: tuple[str, str]) -> dict[str, str]:
    return {"items.csv": _edit(ITEMS_CSV, edits)}


CASES = [
    # ---- the file as a whole -------------------------------------------------------
    Case(
        "yaml-syntax",
        ("bad.yaml line 8: invalid YAML: expected ',' or ']', but got ':' "
         "(while parsing a flow sequence started at line 7)",),
        edits=(("    kind: base\n", "    kind: [base\n"),),
    ),
    Case(
        "yaml-tab-indent",
        ("bad.yaml line 7: invalid YAML: found character '\\t' that cannot start any token",),
        edits=(("    kind: base\n", "\tkind: base\n"),),
    ),
    Case(
        "yaml-unclosed-quote",
        ("bad.yaml line 37: invalid YAML: found unexpected end of stream "
         "(while scanning a quoted scalar started at line 1)",),
        edits=(("name: Test scenario", 'name: "Test scenario'),),
    ),
    Case("empty-file", ("bad.yaml: the file is empty",), text=""),
    Case("whitespace-only", ("bad.yaml: the file is empty",), text="  \n\n   \n"),
    Case("comments-only", ("bad.yaml: the file is empty",), text="# nothing yet\n"),
    Case(
        "top-level-list",
        ("bad.yaml: expected a mapping of keys (name, sites, …) at the top: got a list",),
        text="- id: HUB\n- id: WEST\n",
    ),
    Case(
        "top-level-text",
        ("bad.yaml: expected a mapping of keys (name, sites, …) at the top: got a text",),
        text="just some words\n",
    ),
    Case(
        "json-syntax",
        ("bad.json line 3: invalid JSON: Expecting ',' delimiter (column 27)",),
        text=GOOD_JSON.replace('{"id": "HUB"}, ', '{"id": "HUB"} '),
        name="bad.json",
    ),
    # ---- keys ----------------------------------------------------------------------
    Case(
        "unknown-top-level-key",
        ("bad.yaml line 2: currencyy: unknown key (did you mean 'currency'?)",),
        edits=(("currency: EUR", "currencyy: EUR"),),
    ),
    Case(
        "unknown-row-key",
        ("bad.yaml line 21: items[0].mtbf_hour: unknown key (did you mean 'mtbf_hours'?)",),
        edits=(("mtbf_hours: 1500", "mtbf_hour: 1500"),),
    ),
    Case(
        "unknown-nested-key",
        ("bad.yaml line 23: items[0].installed_in[0].qtty: unknown key (did you mean 'qty'?)",),
        edits=(("{system: SAMX, qty: 1}", "{system: SAMX, qtty: 1}"),),
    ),
    Case(
        "json-unknown-key",
        ("bad.json line 7: items[0].mtbf_hour: unknown key (did you mean 'mtbf_hours'?)",),
        text=GOOD_JSON.replace('"mtbf_hours"', '"mtbf_hour"'),
        name="bad.json",
    ),
    Case(
        "duplicate-yaml-key",
        ("bad.yaml line 17: fleets[0].count: duplicate key "
         "(first given at line 16; give each key once)",),
        edits=(("    count: 2\n", "    count: 2\n    count: 3\n"),),
    ),
    Case(
        "json-duplicate-key",
        ("bad.json line 2: name: duplicate key (first given at line 2; give each key once)",),
        text=GOOD_JSON.replace('"name": "Test scenario",', '"name": "A", "name": "B",'),
        name="bad.json",
    ),
    Case(
        "missing-table",
        ("bad.yaml: fleets: required key is missing",),
        edits=(
            ("fleets:\n  - system: SAMX\n    site: WEST\n    count: 2\n    hours_per_day: 20\n",
             ""),
        ),
    ),
    Case(
        "table-not-a-list",
        ("bad.yaml line 10: systems: must be a list of rows (or {file: table.csv}): got 5",),
        edits=(("systems:\n  - id: SAMX\n    name: Medium-range air-defence battery\n",
                "systems: 5\n"),),
    ),
    Case(
        "row-not-a-mapping",
        ("bad.yaml line 36: stock[1]: must be a mapping of keys: got 'TX at HUB'",),
        edits=(("  - {item: TX, site: HUB, qty: 2}", "  - TX at HUB"),),
    ),
    Case(
        "row-empty",
        ("bad.yaml line 35: stock[0]: must be a mapping of keys: got null",),
        edits=(("  - {item: TX, site: WEST, qty: 1}", "  -"),),
    ),
    Case(
        "table-empty-value",
        ("bad.yaml line 34: stock: must be a list of rows (or {file: table.csv}): got null",),
        edits=(("  - {item: TX, site: WEST, qty: 1}\n  - {item: TX, site: HUB, qty: 2}\n", ""),),
    ),
    Case(
        "empty-items-table",
        ("bad.yaml line 18: items: at least one item is needed",),
        text=GOOD.split("items:\n")[0] + "items: []\n",
    ),
    # ---- types and ranges ----------------------------------------------------------
    Case(
        "text-for-number",
        ("bad.yaml line 21: items[0].mtbf_hours: must be a number: got 'lots'",),
        edits=(("mtbf_hours: 1500", "mtbf_hours: lots"),),
    ),
    Case(
        "negative-mtbf",
        ("bad.yaml line 21: items[0].mtbf_hours: must be >= 0.01: got -1500",),
        edits=(("mtbf_hours: 1500", "mtbf_hours: -1500"),),
    ),
    Case(
        "zero-repair-days",
        ("bad.yaml line 33: items[1].depot_repair_days: must be > 0: got 0",),
        edits=(("depot_repair_days: 20", "depot_repair_days: 0"),),
    ),
    Case(
        "fraction-1.5",
        ("bad.yaml line 24: items[0].base_repair_fraction: must be <= 1: got 1.5",),
        edits=(("base_repair_fraction: 0.2", "base_repair_fraction: 1.5"),),
    ),
    Case(
        "negative-fraction",
        ("bad.yaml line 32: items[1].replace_fraction: must be >= 0: got -0.5",),
        edits=(("replace_fraction: 0.5", "replace_fraction: -0.5"),),
    ),
    Case(
        "hours-per-day-30",
        ("bad.yaml line 17: fleets[0].hours_per_day: must be <= 24: got 30",),
        edits=(("hours_per_day: 20", "hours_per_day: 30"),),
    ),
    Case(
        "fleet-weight-zero",
        ("bad.yaml line 18: fleets[0].weight: must be > 0: got 0",),
        edits=(("hours_per_day: 20", "hours_per_day: 20\n    weight: 0"),),
    ),
    Case(
        "count-negative",
        ("bad.yaml line 16: fleets[0].count: must be >= 0: got -1",),
        edits=(("count: 2", "count: -1"),),
    ),
    Case(
        "count-not-whole",
        ("bad.yaml line 16: fleets[0].count: must be a whole number: got 2.5",),
        edits=(("count: 2", "count: 2.5"),),
    ),
    Case(
        "yes-for-number",
        ("bad.yaml line 16: fleets[0].count: must be a whole number: got true",),
        edits=(("count: 2", "count: yes"),),
    ),
    Case(
        "infinite-mtbf",
        ("bad.yaml line 21: items[0].mtbf_hours: must be a finite number: got inf",),
        edits=(("mtbf_hours: 1500", "mtbf_hours: .inf"),),
    ),
    Case(
        "nan-cost",
        ("bad.yaml line 30: items[1].unit_cost: must be a finite number: got nan",),
        edits=(("unit_cost: 90000", "unit_cost: .nan"),),
    ),
    Case(
        "stock-qty-negative",
        ("bad.yaml line 35: stock[0].qty: must be >= 0: got -1",),
        edits=(("{item: TX, site: WEST, qty: 1}", "{item: TX, site: WEST, qty: -1}"),),
    ),
    Case(
        "installed-qty-zero",
        ("bad.yaml line 23: items[0].installed_in[0].qty: must be >= 1: got 0",),
        edits=(("{system: SAMX, qty: 1}", "{system: SAMX, qty: 0}"),),
    ),
    Case(
        "site-kind-typo",
        ("bad.yaml line 7: sites[1].kind: must be one of 'depot', 'intermediate' or 'base': "
         "got 'bse' (did you mean 'base'?)",),
        edits=(("kind: base", "kind: bse"),),
    ),
    Case(
        "empty-id",
        ("bad.yaml line 11: systems[0].id: must not be empty",),
        edits=(("  - id: SAMX", '  - id: ""'),),
    ),
    Case(
        "name-not-text",
        ("bad.yaml line 2: currency: must be text: got 5",),
        edits=(("currency: EUR", "currency: 5"),),
    ),
    # ---- the site tree -------------------------------------------------------------
    Case(
        "site-cycle",
        ("bad.yaml line 6: sites[0].parent: the site tree has a cycle: HUB -> WEST -> HUB",),
        edits=(("    kind: depot\n", "    kind: depot\n    parent: WEST\n"),),  # +1 line
    ),
    Case(
        "site-names-itself",
        ("bad.yaml line 8: sites[1].parent: site 'WEST' names itself as its parent",),
        edits=(("parent: HUB", "parent: WEST"),),
    ),
    Case(
        "missing-parent",
        ("bad.yaml line 8: sites[1].parent: 'HUBB' is not a site id (did you mean 'HUB'?)",),
        edits=(("parent: HUB", "parent: HUBB"),),
    ),
    Case(
        "no-root",
        (
            "bad.yaml line 6: sites[0].parent: 'DEPOT' is not a site id",
            "bad.yaml line 3: sites: no root site: one site (the top depot) must have no parent",
        ),
        edits=(("    kind: depot\n", "    kind: depot\n    parent: DEPOT\n"),),  # +1 line
    ),
    Case(
        "order-ship-days-on-root",
        ("bad.yaml line 6: sites[0].order_ship_days: a root site has no parent to be "
         "resupplied from; remove the key or give the site a parent",),
        edits=(("    kind: depot\n", "    kind: depot\n    order_ship_days: 3\n"),),  # +1
    ),
    Case(
        "duplicate-site-id",
        ("bad.yaml line 6: sites[1]: site id 'HUB' given twice (first at bad.yaml line 4)",
         "bad.yaml line 15: fleets[0].site: 'WEST' is not a site id",
         "bad.yaml line 35: stock[0].site: 'WEST' is not a site id"),
        edits=(("  - id: WEST", "  - id: HUB"),),
    ),
    # ---- references ----------------------------------------------------------------
    Case(
        "fleet-unknown-site",
        ("bad.yaml line 15: fleets[0].site: 'WESTT' is not a site id (did you mean 'WEST'?)",),
        edits=(("    site: WEST\n", "    site: WESTT\n"),),
    ),
    Case(
        "fleet-site-wrong-case",
        ("bad.yaml line 15: fleets[0].site: 'west' is not a site id (did you mean 'WEST'?)",),
        edits=(("    site: WEST\n", "    site: west\n"),),
    ),
    Case(
        "fleet-unknown-system",
        ("bad.yaml line 14: fleets[0].system: 'SAMY' is not a system id "
         "(did you mean 'SAMX'?)",),
        edits=(("  - system: SAMX\n", "  - system: SAMY\n"),),
    ),
    Case(
        "installed-in-unknown-system",
        ("bad.yaml line 23: items[0].installed_in[0].system: 'SAM' is not a system id "
         "(did you mean 'SAMX'?)",),
        edits=(("{system: SAMX, qty: 1}", "{system: SAM, qty: 1}"),),
    ),
    Case(
        "stock-unknown-item",
        ("bad.yaml line 36: stock[1].item: 'TXX' is not an item id (did you mean 'TX'?)",),
        edits=(("{item: TX, site: HUB", "{item: TXX, site: HUB"),),
    ),
    Case(
        "stock-unknown-site",
        ("bad.yaml line 36: stock[1].site: 'DEPOT' is not a site id",),
        edits=(("{item: TX, site: HUB", "{item: TX, site: DEPOT"),),
    ),
    Case(
        "duplicate-item-id",
        ("bad.yaml line 29: items[1]: item id 'TX' given twice (first at bad.yaml line 19)",),
        edits=(("  - id: TX-PSU", "  - id: TX"),),
    ),
    Case(
        "duplicate-fleet",
        ("bad.yaml line 18: fleets[1]: fleet of 'SAMX' at 'WEST' given twice "
         "(first at bad.yaml line 14); merge the counts",),
        edits=(("items:\n", "  - {system: SAMX, site: WEST, count: 1, hours_per_day: 8}\n"
                "items:\n"),),  # +1 line
    ),
    Case(
        "duplicate-stock",
        ("bad.yaml line 36: stock[1]: stock of 'TX' at 'WEST' given twice "
         "(first at bad.yaml line 35); merge the quantities",),
        edits=(("{item: TX, site: HUB", "{item: TX, site: WEST"),),
    ),
    # ---- the item tree -------------------------------------------------------------
    Case(
        "item-both-installed-in-and-parent",
        ("bad.yaml line 31: items[1].parent: an item is either top level (installed_in) "
         "or a sub-item (parent), not both",),
        edits=(("    parent: TX\n", "    parent: TX\n    installed_in: [{system: SAMX}]\n"),),
    ),
    Case(
        "item-neither",
        ("bad.yaml line 29: items[1]: needs installed_in (a top-level item) "
         "or parent (a sub-item)",),
        edits=(("    parent: TX\n", ""),),
    ),
    Case(
        "top-level-item-without-mtbf",
        ("bad.yaml line 19: items[0].mtbf_hours: required for a top-level item",),
        edits=(("    mtbf_hours: 1500\n", ""),),
    ),
    Case(
        "sub-item-with-mtbf",
        ("bad.yaml line 32: items[1].mtbf_hours: a sub-item fails through its parent's "
         "repairs: give replace_fraction, not mtbf_hours",),
        edits=(("    parent: TX\n", "    parent: TX\n    mtbf_hours: 100\n"),),
    ),
    Case(
        "sub-item-without-replace-fraction",
        ("bad.yaml line 29: items[1].replace_fraction: required for a sub-item",),
        edits=(("    replace_fraction: 0.5\n", ""),),
    ),
    Case(
        "replace-fraction-on-top-level-item",
        ("bad.yaml line 22: items[0].replace_fraction: only a sub-item (with parent) "
         "has a replace_fraction",),
        edits=(("    mtbf_hours: 1500\n", "    mtbf_hours: 1500\n    replace_fraction: 0.1\n"),),
    ),
    Case(
        "sub-item-unknown-parent",
        ("bad.yaml line 31: items[1].parent: 'TXX' is not an item id (did you mean 'TX'?)",),
        edits=(("    parent: TX\n", "    parent: TXX\n"),),
    ),
    Case(
        "replace-fractions-sum-above-1",
        ("bad.yaml line 19: items[0]: the replace_fraction of its sub-items sum to 1.1 > 1 "
         "(TX-FAN 0.6 + TX-PSU 0.5)",),
        edits=(("stock:\n", "  - {id: TX-FAN, parent: TX, replace_fraction: 0.6, "
                "depot_repair_days: 5}\nstock:\n"),),
    ),
    Case(
        "item-cycle",
        ("bad.yaml line 34: items[2].parent: the item tree has a cycle: A -> B -> A",),
        edits=(("stock:\n",
                "  - {id: A, parent: B, replace_fraction: 0.1, depot_repair_days: 5}\n"
                "  - {id: B, parent: A, replace_fraction: 0.1, depot_repair_days: 5}\n"
                "stock:\n"),),
    ),
    Case(
        "item-names-itself",
        ("bad.yaml line 31: items[1].parent: item 'TX-PSU' names itself as its parent",),
        edits=(("    parent: TX\n", "    parent: TX-PSU\n"),),
    ),
    Case(
        "unreachable-item",
        ("bad.yaml line 35: items[2]: item 'GUN' is installed only in systems with no fleet "
         "(IFV): nothing demands it",
         "bad.yaml line 36: items[3]: item 'GUN-SIGHT' is installed (through 'GUN') only in "
         "systems with no fleet (IFV): nothing demands it"),
        edits=(
            ("fleets:\n", "  - id: IFV\nfleets:\n"),  # +1 line
            ("stock:\n",
             "  - {id: GUN, mtbf_hours: 900, installed_in: [{system: IFV}], "
             "depot_repair_days: 5}\n"
             "  - {id: GUN-SIGHT, parent: GUN, replace_fraction: 0.2, depot_repair_days: 5}\n"
             "stock:\n"),
        ),
    ),
    Case(
        "missing-depot-repair-days",
        ("bad.yaml line 29: items[1].depot_repair_days: required when base_repair_fraction "
         "< 1 (some failures reach the depot)",),
        edits=(("    depot_repair_days: 20\n", ""),),
    ),
    Case(
        "missing-base-repair-days",
        ("bad.yaml line 19: items[0].base_repair_days: required when base_repair_fraction > 0",),
        edits=(("    base_repair_days: 3\n", ""),),
    ),
    Case(
        "condemnation-without-procurement",
        ("bad.yaml line 19: items[0].procurement_days: required when "
         "condemnation_fraction > 0",),
        edits=(("    condemnation_fraction: 0.0\n    procurement_days: 180\n",
                "    condemnation_fraction: 0.1\n"),),
    ),
    # ---- several problems at once: all listed, none of them cascades ---------------
    Case(
        "several-errors",
        (
            "bad.yaml line 2: currencyy: unknown key (did you mean 'currency'?)",
            "bad.yaml line 16: fleets[0].count: must be >= 0: got -1",
            "bad.yaml line 21: items[0].mtbf_hours: must be >= 0.01: got -3",
            "bad.yaml line 33: items[1].depot_repair_days: must be > 0: got 0",
            "bad.yaml line 36: stock[1].site: 'HUBB' is not a site id (did you mean 'HUB'?)",
        ),
        edits=(
            ("currency: EUR", "currencyy: EUR"),
            ("count: 2", "count: -1"),
            ("mtbf_hours: 1500", "mtbf_hours: -3"),
            ("depot_repair_days: 20", "depot_repair_days: 0"),
            ("{item: TX, site: HUB", "{item: TX, site: HUBB"),
        ),
    ),
    # ---- tables from files ---------------------------------------------------------
    Case(
        "csv-missing-column",
        ("items.csv: id: required column is missing",),
        base=GOOD_WITH_CSV,
        files=_csv(("id,unit_cost", "unit_cost"), ("TX,1200000", "1200000"),
                   ("TX-PSU,90000", "90000")),
    ),
    Case(
        "csv-unknown-column",
        ("items.csv: mtbf_hour: unknown column (did you mean 'mtbf_hours'?)",),
        base=GOOD_WITH_CSV,
        files=_csv(("mtbf_hours", "mtbf_hour")),
    ),
    Case(
        "csv-bad-value",
        ("items.csv row 3: unit_cost: must be >= 0: got -5",),
        base=GOOD_WITH_CSV,
        files=_csv(("90000", "-5")),
    ),
    Case(
        "csv-text-for-number",
        ("items.csv row 2: mtbf_hours: must be a number: got '1,500 h'",),
        base=GOOD_WITH_CSV,
        files=_csv((",1500,", ',"1,500 h",')),
    ),
    Case(
        "csv-bad-installed-in",
        ("items.csv row 2: installed_in: must read 'SYSTEM:QTY;SYSTEM:QTY' "
         "(e.g. 'SAMX:1;IFV:2'): got ':1'",),
        base=GOOD_WITH_CSV,
        files=_csv(("SAMX:1", ":1")),
    ),
    Case(
        "csv-bad-installed-qty",
        ("items.csv row 2: installed_in[0].qty: must be a whole number: got 'one'",),
        base=GOOD_WITH_CSV,
        files=_csv(("SAMX:1", "SAMX:one")),
    ),
    Case(
        "csv-unknown-parent",
        ("items.csv row 3: parent: 'TXX' is not an item id (did you mean 'TX'?)",),
        base=GOOD_WITH_CSV,
        files=_csv((",TX,0.5", ",TXX,0.5")),
    ),
    Case(
        "csv-too-many-cells",
        ("items.csv row 3: 12 cells but the header has 11 columns",),
        base=GOOD_WITH_CSV,
        files=_csv(("20,,\n", "20,,,oops\n")),
    ),
    Case(
        "csv-empty-file",
        ("items.csv: the table file is empty (a header row is needed)",),
        base=GOOD_WITH_CSV,
        files={"items.csv": "\n"},
    ),
    Case(
        "csv-header-only",
        ("items.csv: items: at least one item is needed",),
        base=GOOD_WITH_CSV,
        files={"items.csv": ITEMS_CSV.split("\n")[0] + "\n"},
    ),
    Case(
        "table-file-not-found",
        ("bad.yaml line 18: items.file: table file 'parts.csv' not found "
         "(looked for {dir}/parts.csv)",),
        edits=(("{file: items.csv}", "{file: parts.csv}"),),
        base=GOOD_WITH_CSV,
        files=_csv(),
    ),
    Case(
        "table-unsupported-suffix",
        ("bad.yaml line 18: items.file: table file 'items.txt' has an unsupported format "
         "'.txt' (use .csv, .parquet or .xlsx)",),
        edits=(("{file: items.csv}", "{file: items.txt}"),),
        base=GOOD_WITH_CSV,
        files={"items.txt": ITEMS_CSV},
    ),
    Case(
        "table-reference-typo",
        ("bad.yaml line 18: items.fiel: unknown key in a table reference "
         "(did you mean 'file'? allowed: file, sheet)",),
        edits=(("{file: items.csv}", "{fiel: items.csv}"),),
        base=GOOD_WITH_CSV,
        files=_csv(),
    ),
    Case(
        "table-sheet-on-csv",
        ("bad.yaml line 18: items.sheet: only .xlsx tables have sheets: 'items.csv' is .csv",),
        edits=(("{file: items.csv}", "{file: items.csv, sheet: Items}"),),
        base=GOOD_WITH_CSV,
        files=_csv(),
    ),
    Case(
        "table-file-not-text",
        ("bad.yaml line 18: items.file: must be the path of a table file: got 3",),
        edits=(("{file: items.csv}", "{file: 3}"),),
        base=GOOD_WITH_CSV,
    ),
    Case(
        "table-missing-and-other-errors",
        (
            "bad.yaml line 18: items.file: table file 'parts.csv' not found "
            "(looked for {dir}/parts.csv)",
            "bad.yaml line 16: fleets[0].count: must be >= 0: got -1",
        ),
        edits=(("{file: items.csv}", "{file: parts.csv}"), ("count: 2", "count: -1")),
        base=GOOD_WITH_CSV,
    ),
]


def _write(tmp_path: Path, case: Case) -> Path:
    for fname, content in case.files.items():
        (tmp_path / fname).write_text(content, encoding="utf-8")
    path = tmp_path / case.name
    path.write_text(case.scenario_text(), encoding="utf-8")
    return path


def _issues(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(i) for i in info.value.issues]


def _squash(text: str) -> str:
    """Text without whitespace."""
    return "".join(text.split())


def _invoke(*args: str | Path) -> Result:
    return RUNNER.invoke(cli_main.app, [str(a) for a in args])


def _assert_clean_failure(result: Result, messages: list[str]) -> None:
    """Exit 2, the messages on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.stdout == ""
    assert "Traceback" not in result.output + result.stderr
    n = len(messages)
    assert result.stderr.startswith(f"{n} problem{'s' if n != 1 else ''} in the scenario:\n")
    for message in messages:
        assert f"  {message}\n" in result.stderr


def test_at_least_30_distinct_cases() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 30
    texts = [(c.scenario_text(), tuple(sorted(c.files.items()))) for c in CASES]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_scenario(tmp_path: Path, case: Case) -> None:
    path = _write(tmp_path, case)
    expected = [e.replace("{dir}", str(tmp_path.resolve())) for e in case.expected]
    assert _issues(path) == expected
    _assert_clean_failure(_invoke("evaluate", path, "--json"), expected)


def test_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    expected = [f"{path}: file not found"]
    assert _issues(path) == expected
    _assert_clean_failure(_invoke("evaluate", path, "--json"), expected)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert _issues(tmp_path) == [f"{tmp_path}: is a directory, not a scenario file"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    assert _issues(path) == [
        "bad.yaml: not a text file (UTF-8 expected): invalid continuation byte"
    ]


@pytest.mark.parametrize(
    ("name", "text"), [("good.yaml", GOOD), ("good.json", GOOD_JSON)], ids=["yaml", "json"]
)
def test_valid_scenario_has_no_issues(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert [s.id for s in scenario.sites] == ["HUB", "WEST"]
    result = _invoke("evaluate", path, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert [f["system"] for f in doc["fleets"]] == ["SAMX"]


def test_valid_scenario_with_csv_items(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(ITEMS_CSV, encoding="utf-8")
    (tmp_path / "good.yaml").write_text(GOOD_WITH_CSV, encoding="utf-8")
    (tmp_path / "inline.yaml").write_text(GOOD, encoding="utf-8")
    from_csv = load_scenario(tmp_path / "good.yaml")
    inline = load_scenario(tmp_path / "inline.yaml")
    assert from_csv.items == inline.items


def test_bad_input_leaves_no_report(tmp_path: Path) -> None:
    """``-o report.md`` writes nothing when the scenario is bad, and keeps an old report."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(_edit(GOOD, (("count: 2", "count: -1"),)), encoding="utf-8")
    report = tmp_path / "report.md"
    message = ["bad.yaml line 16: fleets[0].count: must be >= 0: got -1"]

    _assert_clean_failure(_invoke("evaluate", bad, "-o", report), message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]

    report.write_text("# the good report of yesterday\n", encoding="utf-8")
    _assert_clean_failure(_invoke("evaluate", bad, "-o", report, "--json"), message)
    assert report.read_text(encoding="utf-8") == "# the good report of yesterday\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "report.md"]


def test_good_input_writes_the_report(tmp_path: Path) -> None:
    """The control for the test above: the same command on a good scenario writes it."""
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    report = tmp_path / "report.md"
    result = _invoke("evaluate", good, "-o", report, "--quiet")
    assert result.exit_code == 0, result.output
    assert report.read_text(encoding="utf-8").startswith("# ")


def test_without_json_stdout_stays_empty(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(_edit(GOOD, (("mtbf_hours: 1500", "mtbf_hour: 1500"),)), encoding="utf-8")
    _assert_clean_failure(
        _invoke("evaluate", bad),
        ["bad.yaml line 21: items[0].mtbf_hour: unknown key (did you mean 'mtbf_hours'?)"],
    )


def test_cli_does_not_wrap_long_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_main.err, "_width", 80)
    case = next(c for c in CASES if c.id == "item-both-installed-in-and-parent")
    result = _invoke("evaluate", _write(tmp_path, case), "--json")
    assert f"  {case.expected[0]}\n" in result.stderr


def test_installed_command_exits_2_without_traceback(tmp_path: Path) -> None:
    """End to end through the ``sustain`` entry point in a fresh interpreter."""
    import subprocess

    case = next(c for c in CASES if c.id == "several-errors")
    path = _write(tmp_path, case)
    proc = subprocess.run(
        [sys.executable, "-c", "from sustain.cli.main import main; main()",
         "evaluate", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    for message in case.expected:
        assert _squash(message) in _squash(proc.stderr)
