"""Tables from CSV, Parquet and XLSX files: the same scenario as inline YAML, and the
same messages (file, row, column) when a table is wrong."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sustain.errors import ScenarioError
from sustain.scenario import Scenario, load_scenario
from tests.scenario.test_bad_input import GOOD

HEADER = [
    "id", "unit_cost", "mtbf_hours", "installed_in", "parent", "replace_fraction",
    "base_repair_fraction", "base_repair_days", "depot_repair_days",
    "condemnation_fraction", "procurement_days",
]  # fmt: skip
# The items of GOOD, one list per row; None is an empty cell.
ROWS: list[list[Any]] = [
    ["TX", 1200000, 1500, "SAMX:1", None, None, 0.2, 3, 25, 0.0, 180],
    ["TX-PSU", 90000, None, None, "TX", 0.5, None, None, 20, None, None],
]
# GOOD with ``items:`` (line 18) replaced by a table reference.
HEAD, TAIL = GOOD.split("items:\n")[0], "stock:" + GOOD.split("stock:")[1]


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([["" if v is None else v for v in r] for r in rows])


def _write_parquet(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {h: pa.array([r[k] for r in rows]) for k, h in enumerate(header)}
    pq.write_table(pa.table(columns), path)


def _write_xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "Notes"
    notes.append(["Spare parts catalogue, see the Items sheet"])
    sheet = book.create_sheet("Items")
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    book.save(path)


Writer = Callable[[Path, list[str], list[list[Any]]], None]
# format -> (writer, table reference, how rows are named, row number of ROWS[0])
FORMATS: dict[str, tuple[Writer, str, str, int]] = {
    "csv": (_write_csv, "{file: items.csv}", "items.csv", 2),
    "parquet": (_write_parquet, "{file: items.parquet}", "items.parquet", 1),
    "xlsx": (_write_xlsx, "{file: items.xlsx, sheet: Items}", "items.xlsx[Items]", 2),
}


def _scenario(
    tmp_path: Path, fmt: str, header: list[str], rows: list[list[Any]], ref: str | None = None
) -> Path:
    writer, default_ref, _, _ = FORMATS[fmt]
    writer(tmp_path / f"items.{fmt}", header, rows)
    path = tmp_path / "air.yaml"
    path.write_text(f"{HEAD}items: {ref or default_ref}\n{TAIL}", encoding="utf-8")
    return path


def _issues(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(i) for i in info.value.issues]


def _inline(tmp_path: Path) -> Scenario:
    inline = tmp_path / "inline"
    inline.mkdir()
    (inline / "air.yaml").write_text(GOOD, encoding="utf-8")
    return load_scenario(inline / "air.yaml")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_items_table_gives_the_inline_scenario(tmp_path: Path, fmt: str) -> None:
    from_table = load_scenario(_scenario(tmp_path, fmt, HEADER, ROWS))
    assert from_table == _inline(tmp_path)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_column_order_and_blank_columns_do_not_matter(tmp_path: Path, fmt: str) -> None:
    order = list(reversed(range(len(HEADER))))
    header = [HEADER[k] for k in order]
    rows = [[r[k] for k in order] for r in ROWS]
    assert load_scenario(_scenario(tmp_path, fmt, header, rows)) == _inline(tmp_path)


def test_xlsx_without_sheet_reads_the_first_sheet(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for r in ROWS:
        sheet.append(r)
    book.save(tmp_path / "items.xlsx")
    path = tmp_path / "air.yaml"
    path.write_text(f"{HEAD}items: {{file: items.xlsx}}\n{TAIL}", encoding="utf-8")
    assert load_scenario(path) == _inline(tmp_path)


def test_every_table_from_csv(tmp_path: Path) -> None:
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {
        "sites": (["id", "kind", "parent", "order_ship_days"],
                  [["HUB", "depot", None, None], ["WEST", "base", "HUB", 4]]),
        "systems": (["id", "name"], [["SAMX", "Medium-range air-defence battery"]]),
        "fleets": (["system", "site", "count", "hours_per_day"], [["SAMX", "WEST", 2, 20]]),
        "items": (HEADER, ROWS),
        "stock": (["item", "site", "qty"], [["TX", "WEST", 1], ["TX", "HUB", 2]]),
    }  # fmt: skip
    text = "name: Test scenario\ncurrency: EUR\n"
    for name, (header, rows) in tables.items():
        _write_csv(tmp_path / f"{name}.csv", header, rows)
        text += f"{name}: {{file: {name}.csv}}\n"
    (tmp_path / "air.yaml").write_text(text, encoding="utf-8")
    assert load_scenario(tmp_path / "air.yaml") == _inline(tmp_path)


def test_csv_row_numbers_count_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(
        ",".join(HEADER) + "\n\nTX,1200000,1500,SAMX:1,,,0.2,3,25,0.0,180\n\n"
        "TX-PSU,-5,,,TX,0.5,,,20,,\n",
        encoding="utf-8",
    )
    path = tmp_path / "air.yaml"
    path.write_text(f"{HEAD}items: {{file: items.csv}}\n{TAIL}", encoding="utf-8")
    assert _issues(path) == ["items.csv row 5: unit_cost: must be >= 0: got -5"]


# ---- the same mistakes in every format ---------------------------------------------


def _without(column: str) -> tuple[list[str], list[list[Any]]]:
    k = HEADER.index(column)
    return HEADER[:k] + HEADER[k + 1 :], [r[:k] + r[k + 1 :] for r in ROWS]


def _renamed(column: str, new: str) -> tuple[list[str], list[list[Any]]]:
    return [new if h == column else h for h in HEADER], ROWS


def _cell(row: int, column: str, value: Any) -> tuple[list[str], list[list[Any]]]:
    rows = [list(r) for r in ROWS]
    rows[row][HEADER.index(column)] = value
    if isinstance(value, str) and column in ("mtbf_hours", "unit_cost"):
        # Parquet columns have one type: make the whole column text.
        for r in rows:
            r[HEADER.index(column)] = None if r[HEADER.index(column)] is None else str(
                r[HEADER.index(column)]
            )
    return HEADER, rows


# (id, table, expected with {at} = file name and {r0}/{r1} = row names of ROWS[0]/[1])
MISTAKES = [
    ("missing-column", _without("id"), ["{at}: id: required column is missing"]),
    (
        "unknown-column",
        _renamed("mtbf_hours", "mtbf_hour"),
        ["{at}: mtbf_hour: unknown column (did you mean 'mtbf_hours'?)"],
    ),
    (
        "bad-value",
        _cell(0, "mtbf_hours", "abc"),
        ["{r0}: mtbf_hours: must be a number: got 'abc'"],
    ),
    ("negative-value", _cell(1, "unit_cost", -5), ["{r1}: unit_cost: must be >= 0: got -5"]),
    ("fraction-1.5", _cell(0, "base_repair_fraction", 1.5),
     ["{r0}: base_repair_fraction: must be <= 1: got 1.5"]),
    (
        "bad-installed-in",
        _cell(0, "installed_in", "SAMX;:2"),
        ["{r0}: installed_in: must read 'SYSTEM:QTY;SYSTEM:QTY' (e.g. 'SAMX:1;IFV:2'): "
         "got 'SAMX;:2'"],
    ),
    (
        "installed-in-unknown-system",
        _cell(0, "installed_in", "SAMX:1;IFV:2"),
        ["{r0}: installed_in[1].system: 'IFV' is not a system id"],
    ),
    (
        "unknown-parent",
        _cell(1, "parent", "TXX"),
        ["{r1}: parent: 'TXX' is not an item id (did you mean 'TX'?)"],
    ),
    (
        "duplicate-id",
        _cell(1, "id", "TX"),
        ["{r1}: item id 'TX' given twice (first at {r0})"],
    ),
]  # fmt: skip


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize(
    ("table", "expected"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_table_mistake(
    tmp_path: Path,
    fmt: str,
    table: tuple[list[str], list[list[Any]]],
    expected: list[str],
) -> None:
    _, _, at, first = FORMATS[fmt]
    names = {"at": at, "r0": f"{at} row {first}", "r1": f"{at} row {first + 1}"}
    path = _scenario(tmp_path, fmt, *table)
    assert _issues(path) == [e.format(**names) for e in expected]


def test_xlsx_wrong_sheet(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "xlsx", HEADER, ROWS, ref="{file: items.xlsx, sheet: Itemz}")
    assert _issues(path) == [
        "air.yaml line 18: items.sheet: no sheet 'Itemz' in 'items.xlsx' "
        "(did you mean 'Items'? sheets: Notes, Items)"
    ]


def test_xlsx_sheet_without_a_close_name(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "xlsx", HEADER, ROWS, ref="{file: items.xlsx, sheet: Parts}")
    assert _issues(path) == [
        "air.yaml line 18: items.sheet: no sheet 'Parts' in 'items.xlsx' (sheets: Notes, Items)"
    ]


def test_sheet_on_parquet(tmp_path: Path) -> None:
    path = _scenario(
        tmp_path, "parquet", HEADER, ROWS, ref="{file: items.parquet, sheet: Items}"
    )
    assert _issues(path) == [
        "air.yaml line 18: items.sheet: only .xlsx tables have sheets: "
        "'items.parquet' is .parquet"
    ]


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_unreadable_binary_table(tmp_path: Path, fmt: str) -> None:
    (tmp_path / f"items.{fmt}").write_bytes(b"this is not a table\n")
    path = tmp_path / "air.yaml"
    path.write_text(f"{HEAD}items: {{file: items.{fmt}}}\n{TAIL}", encoding="utf-8")
    issues = _issues(path)
    assert len(issues) == 1
    kind = {"parquet": "Parquet", "xlsx": "XLSX"}[fmt]
    assert issues[0].startswith(f"items.{fmt}: not a readable {kind} file: ")


def test_sheet_without_the_table(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "xlsx", HEADER, ROWS, ref="{file: items.xlsx, sheet: Notes}")
    # The Notes sheet has one line of text: it is read as the header, and is no column
    # (a cell is echoed up to 24 characters).
    assert _issues(path) == [
        "items.xlsx[Notes]: Spare parts catalogue, s…: unknown column",
        "items.xlsx[Notes]: id: required column is missing",
        "items.xlsx[Notes]: items: at least one item is needed",
    ]
