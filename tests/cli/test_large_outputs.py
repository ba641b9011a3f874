"""The plan as Parquet, the same table as the CSV; outputs written in blocks with bounded
memory; and a write that fails part-way leaves no file behind (nor a changed one)."""

from __future__ import annotations

import csv
import dataclasses
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.report import documents
from sustain.report.documents import json_text, plan_csv, plan_table
from sustain.report.files import Output, OutputError, write_outputs
from sustain.report.tabular import (
    ChunkedTable,
    ColumnType,
    csv_table,
    write_csv,
    write_json,
    write_parquet,
)
from sustain.scenario import load_scenario
from sustain.scenario.model import StockTable
from tests.cli.test_evaluate_cli import SMALL
from tests.conftest import EXAMPLES

pq = pytest.importorskip("pyarrow.parquet")
RUNNER = CliRunner()


def run(*args: str | Path) -> Any:
    return RUNNER.invoke(app, [str(a) for a in args])


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


def test_plan_parquet_is_the_csv_table(tmp_path: Path) -> None:
    small = tmp_path / "small.yaml"
    small.write_text(SMALL)
    plan_c, plan_p, doc = tmp_path / "p.csv", tmp_path / "p.parquet", tmp_path / "d.json"
    result = run("optimize", small, "-t", "0.9", "-o", plan_c, "-o", plan_p, "-o", doc,
                 "--json")
    assert result.exit_code == 0, result.output
    assert doc.read_text(encoding="utf-8") == result.stdout  # the JSON written in pieces
    rows = _csv_rows(plan_c)
    table = pq.read_table(plan_p)
    assert table.column_names == list(rows[0])
    assert [str(t) for t in table.schema.types] == [
        "string", "string", "int64", "int64", "int64", "double", "double"]
    assert table.to_pylist() == [
        {"item": r["item"], "site": r["site"], "held": int(r["held"]), "buy": int(r["buy"]),
         "qty": int(r["qty"]), "unit_cost": float(r["unit_cost"]), "cost": float(r["cost"])}
        for r in rows
    ]
    purchases = json.loads(result.stdout)["purchases"]
    assert sum(r["cost"] for r in table.to_pylist()) == pytest.approx(
        sum(p["cost"] for p in purchases), abs=0.01 * len(rows))


def test_plan_with_moves_parquet_has_moved(tmp_path: Path) -> None:
    plan_c, plan_p = tmp_path / "p.csv", tmp_path / "p.parquet"
    result = run("optimize", EXAMPLES / "rail-redistribute.yaml", "-t", "0.9",
                 "--redistribute", "-o", plan_c, "-o", plan_p, "-q")
    assert result.exit_code == 0, result.output
    rows = _csv_rows(plan_c)
    got = pq.read_table(plan_p).to_pylist()
    assert list(rows[0])[-1] == "moved" and list(got[0])[-1] == "moved"
    assert [r["moved"] for r in got] == [int(r["moved"]) for r in rows]
    assert any(r["moved"] for r in got)


def test_plan_rows_are_the_plan(tmp_path: Path) -> None:
    """Rows: every pair held or stocked; qty the plan's stock; costs add to the purchase
    cost; the text of plan_csv is the file written in blocks."""
    small = tmp_path / "small.yaml"
    small.write_text(SMALL)
    opt = sustain.optimize(load_scenario(small), target=0.9)
    a = opt.evaluation.arrays
    rows = list(csv.DictReader(plan_csv(opt).splitlines()))
    want = {(a.item_ids[i], a.site_ids[s]) for i, s in zip(*np.nonzero(
        (a.stock > 0) | (opt.held > 0)), strict=True)}
    assert {(r["item"], r["site"]) for r in rows} == want
    for r in rows:
        i, s = a.item_ids.index(r["item"]), a.site_ids.index(r["site"])
        assert int(r["qty"]) == a.stock[i, s] and int(r["buy"]) == a.stock[i, s] - opt.held[i, s]
    assert sum(float(r["cost"]) for r in rows) == pytest.approx(opt.purchase_cost, abs=0.01 *
                                                                len(rows))
    write_csv(plan_table(opt), tmp_path / "blocks.csv")
    assert (tmp_path / "blocks.csv").read_text(encoding="utf-8") == plan_csv(opt)


def test_any_csv_table_as_parquet() -> None:
    """Ids stay text even when they read as numbers; 007 keeps a column text."""
    t = csv_table("item,site,count,share,code,note\n0012,1,3,0.5,007,\n13,2,-4,1e-3,8,x\n")
    assert dict(t.columns) == {
        "item": ColumnType.TEXT, "site": ColumnType.TEXT, "count": ColumnType.INT,
        "share": ColumnType.FLOAT, "code": ColumnType.TEXT, "note": ColumnType.TEXT}
    (chunk,) = list(t.chunks())
    assert chunk["count"] == [3, -4] and chunk["share"] == [0.5, 0.001]
    assert chunk["note"] == [None, "x"]


def test_evaluate_writes_parquet(tmp_path: Path) -> None:
    small = tmp_path / "small.yaml"
    small.write_text(SMALL)
    out_c, out_p = tmp_path / "e.csv", tmp_path / "e.parquet"
    assert run("evaluate", small, "-o", out_c, "-o", out_p, "-q").exit_code == 0
    rows = _csv_rows(out_c)
    got = pq.read_table(out_p).to_pylist()
    assert len(got) == len(rows) and list(got[0]) == list(rows[0])
    for g, r in zip(got, rows, strict=True):
        for k, v in g.items():
            assert (r[k] == "" if v is None else type(v)(r[k]) == v)


# -- all or nothing ------------------------------------------------------------------


def _failing(after: int) -> ChunkedTable:
    """A table whose blocks fail (as a full disk would) after ``after`` blocks."""

    def chunks() -> Iterator[dict[str, list[Any]]]:
        for k in range(after):
            yield {"item": [f"I{k}"] * 1000, "qty": list(range(1000))}
        raise OSError(28, "No space left on device")

    return ChunkedTable((("item", ColumnType.TEXT), ("qty", ColumnType.INT)), chunks)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_write_failing_part_way_leaves_no_file(tmp_path: Path, suffix: str) -> None:
    target, other = tmp_path / f"plan{suffix}", tmp_path / "doc.json"
    writer = write_csv if suffix == ".csv" else write_parquet
    files = [
        (Output("--output", other), lambda p: write_json({"a": [1, 2]}, p)),
        (Output("--output", target), lambda p: writer(_failing(3), p)),
    ]
    with pytest.raises(OutputError, match=f"--output {target}: cannot write: No space left"):
        write_outputs(files)
    assert list(tmp_path.iterdir()) == []  # neither output, and no temporary file
    target.write_text("before\n")
    with pytest.raises(OutputError):
        write_outputs(files)
    assert target.read_text() == "before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_optimize_failing_while_writing_the_plan(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    small = tmp_path / "small.yaml"
    small.write_text(SMALL)
    monkeypatch.setattr(documents, "plan_table", lambda opt: _failing(2))
    out = tmp_path / "plan.parquet"
    result = run("optimize", small, "-t", "0.9", "-o", out, "-o", tmp_path / "r.md", "-q")
    assert result.exit_code == 2
    assert result.stderr == (f"error: --output {out}: cannot write: No space left on "
                             "device\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml"]


# -- memory --------------------------------------------------------------------------


def _fake_plan(n_items: int, n_sites: int) -> Any:
    rng = np.random.default_rng(5)
    held = rng.integers(0, 3, (n_items, n_sites)).astype(np.float64)
    arrays = SimpleNamespace(
        stock=held + rng.integers(1, 3, (n_items, n_sites)),
        unit_cost=rng.uniform(1e3, 1e6, n_items),
        item_ids=tuple(f"I{k:06d}" for k in range(n_items)),
        site_ids=tuple(f"S{k:02d}" for k in range(n_sites)),
    )
    return SimpleNamespace(evaluation=SimpleNamespace(arrays=arrays), held=held, routes=None,
                           moved=np.zeros_like(held))


def _peak(fn: Any) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streamed_writes_hold_a_block_not_the_file(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """In blocks of 250 rows, four times the rows (6,300 to 25,200) leave the peak
    memory of a streamed write where it was, and it stays a share of the file; the
    whole text built first (the control) grows with the rows and exceeds the file."""
    monkeypatch.setattr(documents, "CHUNK_ROWS", 250)
    peaks: dict[str, list[int]] = {"csv": [], "parquet": [], "naive": []}
    sizes = []
    for n_items in (300, 1200):
        opt = _fake_plan(n_items, 21)
        path = tmp_path / "plan.csv"
        peaks["csv"].append(_peak(lambda: write_csv(plan_table(opt), path)))  # noqa: B023
        sizes.append(path.stat().st_size)
        peaks["parquet"].append(_peak(
            lambda: write_parquet(plan_table(opt), tmp_path / "p.parquet")))  # noqa: B023
        peaks["naive"].append(_peak(lambda: plan_csv(opt)))  # noqa: B023
    assert sizes[1] > 800_000
    for kind in ("csv", "parquet"):
        assert peaks[kind][1] < 1.3 * peaks[kind][0], (kind, peaks)
        assert peaks[kind][1] < sizes[1] / 2, (kind, peaks, sizes)
    assert peaks["naive"][1] > 3 * peaks["naive"][0] and peaks["naive"][1] > sizes[1]


def test_streamed_json_holds_a_few_pieces(tmp_path: Path) -> None:
    """The document's text is never whole in memory: four times the lines leave the
    write's peak where it was, and it is a share of the file; the text built first (the
    control) grows with the document.  The file is that text."""
    streamed, naive, sizes = [], [], []
    for n in (2_000, 8_000):
        doc = {"purchases": [{"item": f"I{k:06d}", "site": "S01", "qty": k % 7,
                              "cost": k * 1.5} for k in range(n)]}
        path = tmp_path / "d.json"
        streamed.append(_peak(lambda: write_json(doc, path)))  # noqa: B023
        naive.append(_peak(lambda: json_text(doc)))  # noqa: B023
        sizes.append(path.stat().st_size)
        assert path.read_text(encoding="utf-8") == json_text(doc)
    assert streamed[1] < 1.3 * streamed[0] and streamed[1] < sizes[1] / 4
    assert naive[1] > 3 * naive[0] and naive[1] > sizes[1]


# -- a stock table read from a file, downstream -------------------------------------


def test_stock_from_parquet_runs_as_inline(tmp_path: Path) -> None:
    """The rail example with its stock in a Parquet file: evaluate, a stock plan applied
    on top of it (--stock, both modes) and the simulator give what the inline stock gives."""
    import yaml

    text = (EXAMPLES / "rail-two-echelon.yaml").read_text(encoding="utf-8")
    inline = tmp_path / "inline.yaml"
    inline.write_text(text, encoding="utf-8")
    rows = yaml.safe_load(text)["stock"]
    import pyarrow as pa

    pq.write_table(pa.table({k: [r[k] for r in rows] for k in ("item", "site", "qty")}),
                   tmp_path / "stock.parquet")
    head = text.split("\nstock:\n")[0]
    filed = tmp_path / "filed.yaml"
    filed.write_text(head + "\nstock: {file: stock.parquet}\n", encoding="utf-8")
    plan = tmp_path / "plan.csv"
    plan.write_text("item,site,qty\nPANTO,NORTH-TMD,3\nHVAC,WORKS,1\n")
    for args in ([], ["--stock", plan], ["--stock", plan, "--stock-mode", "add"]):
        got = [run("evaluate", s, "--json", *args) for s in (inline, filed)]
        assert got[0].exit_code == 0, got[0].output
        assert json.loads(got[0].stdout) == json.loads(got[1].stdout)
    sc_inline, sc_filed = load_scenario(inline), load_scenario(filed)
    assert isinstance(sc_filed.stock, StockTable)
    assert dataclasses.replace(sc_filed, source=sc_inline.source) == sc_inline
    sims = [sustain.simulate(sc, days=60, replications=2, seed=3).to_dict()
            for sc in (sc_inline, sc_filed)]
    assert sims[0] == sims[1]
