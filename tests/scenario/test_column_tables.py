"""A large stock table from CSV or Parquet, checked column by column: the same verdict
and the same messages (file, row, key) as the row-by-row check, which is the oracle
here; and the stock it gives reads as the rows it was given."""

from __future__ import annotations

import csv
import pickle
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sustain.errors import ScenarioError
from sustain.scenario import load_scenario, scenario_from_dict
from sustain.scenario.columns import ColumnTable
from sustain.scenario.compile import compile_scenario
from sustain.scenario.load import load_raw
from sustain.scenario.model import StockLevel, StockTable
from sustain.scenario.validate import validate

N_ITEMS = 400
SITES = ["HUB", "B1", "B2", "B3"]

HEAD = """\
name: Column tables
sites:
  - {id: HUB, kind: depot}
  - {id: B1, parent: HUB, order_ship_days: 3}
  - {id: B2, parent: HUB, order_ship_days: 3}
  - {id: B3, parent: HUB, order_ship_days: 3}
systems:
  - {id: SAMX}
fleets:
  - {system: SAMX, site: B1, count: 4, hours_per_day: 10}
  - {system: SAMX, site: B2, count: 4, hours_per_day: 10}
  - {system: SAMX, site: B3, count: 4, hours_per_day: 10}
items: {file: items.csv}
"""


def _items(folder: Path, n_items: int) -> None:
    with (folder / "items.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "unit_cost", "mtbf_hours", "installed_in", "depot_repair_days"])
        for k in range(n_items):
            w.writerow([f"I{k:04d}", 1000 + k, 5000 + 10 * k, "SAMX:1", 20])


def _stock_rows() -> list[list[Any]]:
    """One row per item and site, quantities 0 to 3."""
    return [[f"I{k:04d}", s, (k + j) % 4] for k in range(N_ITEMS) for j, s in enumerate(SITES)]


def _write(folder: Path, fmt: str, rows: list[list[Any]],
           header: tuple[str, ...] = ("item", "site", "qty"), n_items: int = N_ITEMS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _items(folder, n_items)
    if fmt == "csv":
        with (folder / "stock.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows([["" if v is None else v for v in r] for r in rows])
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = {h: pa.array([r[k] for r in rows]) for k, h in enumerate(header)}
        pq.write_table(pa.table(cols), folder / "stock.parquet")
    path = folder / "s.yaml"
    path.write_text(HEAD + f"stock: {{file: stock.{fmt}}}\n", encoding="utf-8")
    return path


def _messages(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(i) for i in info.value.issues]


def _row_by_row(path: Path) -> Any:
    """The oracle: the same files, every table checked one row (one model) at a time."""
    raw = load_raw(path)
    for key, value in list(raw.data.items()):
        if isinstance(value, ColumnTable):
            raw.data[key] = value.rows()
    return validate(raw)


def _oracle_messages(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        _row_by_row(path)
    return [str(i) for i in info.value.issues]


def _broken() -> list[list[Any]]:
    rows = _stock_rows()
    rows[10][2] = -1                       # out of range
    rows[11][2] = 2_000_000_000            # above MAX_SPARES
    rows[100][0] = "I99999"                # an unknown item
    rows[101][1] = "B4"                    # an unknown site
    rows[200][0] = None                    # no item
    rows[1200] = list(rows[1199])          # the same item and site twice
    rows[1300][1] = " B2 "                 # blanks around an id: accepted, so row 1302
                                           # (the same item at B2) repeats it
    for k in range(300, 340):              # many of one kind: 20 shown, then a count
        rows[k][2] = -5
    return rows


def test_parquet_bad_rows_exact_messages(tmp_path: Path) -> None:
    path = _write(tmp_path, "parquet", _broken())
    got = _messages(path)
    assert got[:2] == [
        "stock.parquet row 11: qty: must be >= 0: got -1",
        "stock.parquet row 12: qty: must be <= 1,000,000,000: got 2000000000",
    ]
    assert "stock.parquet row 201: item: required key is missing" in got
    assert "stock.parquet row 101: item: 'I99999' is not an item id" in got
    assert "stock.parquet row 102: site: 'B4' is not a site id" in got
    assert ("stock.parquet row 1201: stock of 'I0299' at 'B3' given twice (first at "
            "stock.parquet row 1200); merge the quantities") in got
    assert ("stock.parquet row 1303: stock of 'I0325' at 'B2' given twice (first at "
            "stock.parquet row 1301); merge the quantities") in got
    assert "stock.parquet: qty: … and 21 more problems like this" in got
    assert got == _oracle_messages(path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_bad_rows_same_messages_as_row_by_row(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path, fmt, _broken())
    assert _messages(path) == _oracle_messages(path)


def test_csv_and_parquet_say_the_same(tmp_path: Path) -> None:
    """Row k of a Parquet table is row k + 1 of the CSV file (its header is row 1)."""
    import re

    def shift(m: str) -> str:
        m = m.replace("stock.csv", "stock.parquet")
        return re.sub(r"row (\d+)", lambda g: f"row {int(g.group(1)) - 1}", m)

    got_csv = [shift(m) for m in _messages(_write(tmp_path / "c", "csv", _broken()))]
    assert got_csv == _messages(_write(tmp_path / "p", "parquet", _broken()))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_good_table_gives_the_stock_it_holds(tmp_path: Path, fmt: str) -> None:
    rows = _stock_rows()
    sc = load_scenario(_write(tmp_path, fmt, rows))
    assert isinstance(sc.stock, StockTable)
    assert sc.stock == tuple(StockLevel(item=i, site=s, qty=q) for i, s, q in rows)
    a = compile_scenario(sc)
    for i, s, q in rows[::97]:
        assert a.stock[a.item_ids.index(i), a.site_ids.index(s)] == q
    assert a.stock.sum() == sum(q for _, _, q in rows)
    oracle = _row_by_row(_write(tmp_path, fmt, rows))
    assert isinstance(oracle.stock, tuple)
    assert sc == oracle


def test_stock_table_reads_as_a_tuple() -> None:
    rows = (StockLevel(item="A", site="X", qty=1), StockLevel(item="B", site="X", qty=0),
            StockLevel(item="A", site="Y", qty=3))
    import numpy as np

    table = StockTable(item_ids=("A", "B"), site_ids=("X", "Y"),
                       item=np.array([0, 1, 0]), site=np.array([0, 0, 1]),
                       qty=np.array([1, 0, 3]))
    assert len(table) == 3 and table[2] == rows[2] and table[1:] == rows[1:]
    assert table == rows and rows == table and list(table) == list(rows)
    assert table != rows[:2] and hash(table) == hash(rows)
    assert pickle.loads(pickle.dumps(table)) == rows


# Cells that read differently (text, blanks, numbers as text, out of range, too long).
CELLS_ID = st.sampled_from(["I0001", "I0002", " I0001", "I0003 ", "", "  ", "X", "0", "B1"])
CELLS_SITE = st.sampled_from(["HUB", "B1", " B2", "B3 ", "", "B9", "hub"])
CELLS_QTY = st.sampled_from(["0", "3", "-1", "3.0", "3.5", "abc", "", " 2 ", "1e3", "007",
                             "1000000001", "99999999999999999999999", "+4", "true", "nan"])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(CELLS_ID, CELLS_SITE, CELLS_QTY), min_size=0, max_size=25))
def test_any_csv_stock_same_verdict_as_row_by_row(rows: list[tuple[str, str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "csv", [list(r) for r in rows], n_items=4)
        try:
            got: Any = load_scenario(path)
        except ScenarioError as exc:
            got = [str(i) for i in exc.issues]
        try:
            want: Any = _row_by_row(path)
        except ScenarioError as exc:
            want = [str(i) for i in exc.issues]
        assert got == want
        if not isinstance(got, list):
            assert compile_scenario(got).stock.tolist() == compile_scenario(
                want).stock.tolist()


def test_inline_and_file_scenarios_are_equal(tmp_path: Path) -> None:
    import yaml

    rows = _stock_rows()[:40]
    from_file = load_scenario(_write(tmp_path, "parquet", rows))
    data = yaml.safe_load(HEAD)
    data["items"] = [{"id": f"I{k:04d}", "unit_cost": 1000 + k, "mtbf_hours": 5000 + 10 * k,
                      "installed_in": "SAMX:1", "depot_repair_days": 20}
                     for k in range(N_ITEMS)]
    data["stock"] = [{"item": i, "site": s, "qty": q} for i, s, q in rows]
    inline = scenario_from_dict(data, name="s.yaml")
    assert inline.stock == from_file.stock and inline == from_file


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="AB :12?/;,\tx", max_size=8))
def test_installed_in_cell_shortcut_reads_as_the_general_parser(cell: str) -> None:
    """A cell naming one system with a plain quantity skips the general parser: the same
    result (or the same error) as that parser, which every cell takes when every
    character counts as a mark."""
    from sustain.scenario import schema

    def outcome() -> Any:
        try:
            return schema._as_installed(cell)
        except Exception as exc:  # the parser's own error, compared as such
            return (type(exc).__name__, str(exc))

    quick = outcome()
    marks = schema._CELL_MARKS
    schema._CELL_MARKS = frozenset(map(chr, range(128)))
    try:
        general = outcome()
    finally:
        schema._CELL_MARKS = marks
    assert quick == general


@pytest.mark.parametrize("header", [("site", "qty"), ("item", "qty"), ("itme", "site", "qty"),
                                    ("item", "site", "qty", "note"), ("item", "site")])
def test_missing_or_unknown_columns_same_messages_as_row_by_row(
        tmp_path: Path, header: tuple[str, ...]) -> None:
    """Found by the fuzzer: a stock file without its item column ended in a KeyError."""
    rows = [[f"I{k:04d}", "B1", 1, "x"][: len(header)] for k in range(5)]
    path = _write(tmp_path, "csv", rows, header=header)
    assert _messages(path) == _oracle_messages(path)


def test_parquet_typed_columns_same_messages_as_row_by_row(tmp_path: Path) -> None:
    """Typed Parquet columns: quantities as doubles (whole, fractional, NaN as an empty
    cell, infinite), ids as integers and booleans: the field decides as for a row."""
    rows: list[list[Any]] = [["I0001", "B1", 3.0], ["I0002", "B1", 3.5], ["I0003", "B1", None],
                             ["I0004", "B1", float("nan")], ["I0005", "B1", float("inf")],
                             ["I0006", "B1", -0.0], ["I0007", "B2", 1e12]]
    path = _write(tmp_path / "a", "parquet", rows)
    got = _messages(path)
    assert "stock.parquet row 2: qty: must be a whole number: got 3.5" in got
    assert "stock.parquet row 4: qty: required key is missing" in got
    assert got == _oracle_messages(path)
    ids = _write(tmp_path / "b", "parquet", [[7, "B1", 1], [8, "B2", 2]])
    assert _messages(ids) == _oracle_messages(ids)
    flags = _write(tmp_path / "c", "parquet", [["I0001", "B1", True], ["I0002", "B1", False]])
    assert _messages(flags) == _oracle_messages(flags)
