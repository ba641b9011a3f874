"""Benchmark: reading a scenario of 100,000 items × 21 sites, and writing a 2-million-row plan.

    python benchmarks/scale_io.py [--items 100000] [--bases 20] [--skip-old]
        [--plan-items 100000] [--folder /tmp/sustain-scale-io]

1. Load (read + check + compile to arrays) of the scenario written by
   ``big_scenario.make_big_scenario`` (``--items`` items, ``--bases`` bases and a
   depot, one stock row per item and site: 2.1 million rows by default), from Parquet
   and from CSV tables; and the row-by-row path (every table turned into one mapping
   per row and checked by ``validate_rows``, one pydantic model per row, stock held as
   one ``StockLevel`` per row: how tables were read before column tables), unless
   ``--skip-old``.
2. Writing a plan of ``--plan-items`` items × 21 sites (every pair held or bought:
   2.1 million rows) as CSV, Parquet and JSON (a document of one purchase line per
   row), streamed (``sustain.report.tabular``) against the naive way of building the
   whole text (CSV, JSON) or the whole table (Parquet) first, in the same run.

Each measurement runs in its own process; its peak memory is the peak resident set of
that process during the step (reset before it: Linux's ``clear_refs``), less what was
resident before it.  The ratios printed are
old / new (load) and naive / streamed (writes), measured in this run, of processor
time (``cpu s``: the wall time of a shared machine varies with its load).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from big_scenario import make_big_scenario  # noqa: E402  (a sibling module)


def _status_mib(key: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (its peak) of this process, MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


def _start_peak() -> float:
    """Reset the peak resident memory (Linux: ``clear_refs`` 5) and return what is
    resident now, so that a step's peak is its own, not that of the set-up."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _status_mib("VmRSS")


def _peak_since(before: float) -> float:
    return _status_mib("VmHWM") - before


# ---------------------------------------------------------------------------------------
# Children: one measurement each


def _child_load(path: str, old: bool) -> dict[str, Any]:
    import pyarrow.parquet  # noqa: F401  (imported before the clock starts)

    from sustain.scenario.columns import ColumnTable
    from sustain.scenario.compile import compile_scenario
    from sustain.scenario.load import load_raw
    from sustain.scenario.validate import validate

    before = _start_peak()
    c0 = time.process_time()
    t0 = time.perf_counter()
    raw = load_raw(path)
    if old:  # every table as one mapping per row: the row-by-row checks
        for key, value in list(raw.data.items()):
            if isinstance(value, ColumnTable):
                raw.data[key] = value.rows()
    t1 = time.perf_counter()
    sc = validate(raw)  # rows given as mappings: one StockLevel per stock row, as before
    t2 = time.perf_counter()
    a = compile_scenario(sc)
    t3 = time.perf_counter()
    return {"read": t1 - t0, "check": t2 - t1, "compile": t3 - t2, "total": t3 - t0,
            "cpu": time.process_time() - c0,
            "peak_mib": _peak_since(before), "pairs": int(a.stock.size),
            "stock_units": float(a.stock.sum())}


def _plan(n_items: int, n_sites: int) -> SimpleNamespace:
    """A stand-in for an optimisation result: every item and site held or bought."""
    rng = np.random.default_rng(3)
    held = rng.integers(0, 3, (n_items, n_sites)).astype(np.float64)
    stock = held + rng.integers(1, 4, (n_items, n_sites))
    arrays = SimpleNamespace(
        stock=stock, unit_cost=rng.uniform(1e3, 1e6, n_items),
        item_ids=tuple(f"I{k:06d}" for k in range(n_items)),
        site_ids=("DEPOT", *(f"B{k:02d}" for k in range(n_sites - 1))),
    )
    return SimpleNamespace(evaluation=SimpleNamespace(arrays=arrays), held=held, routes=None,
                           moved=np.zeros_like(held))


def _purchases(opt: SimpleNamespace) -> dict[str, Any]:
    a = opt.evaluation.arrays
    buy = a.stock - opt.held
    ii, ss = np.nonzero(buy > 0)
    return {"purchases": [
        {"item": a.item_ids[i], "site": a.site_ids[s], "qty": int(buy[i, s]),
         "unit_cost": float(a.unit_cost[i]), "cost": float(buy[i, s] * a.unit_cost[i])}
        for i, s in zip(ii.tolist(), ss.tolist(), strict=True)
    ]}


def _naive_csv(opt: SimpleNamespace, path: Path) -> None:
    """The whole plan as one text, then written (the buy array computed once)."""
    a = opt.evaluation.arrays
    held = opt.held - opt.moved
    buy_all = a.stock - opt.held
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["item", "site", "held", "buy", "qty", "unit_cost", "cost"])
    ii, ss = np.nonzero((a.stock > 0) | (held > 0))
    for i, s in zip(ii.tolist(), ss.tolist(), strict=True):
        buy = int(buy_all[i, s])
        w.writerow([a.item_ids[i], a.site_ids[s], int(held[i, s]), buy, int(a.stock[i, s]),
                    f"{a.unit_cost[i]:.2f}", f"{buy * a.unit_cost[i]:.2f}"])
    path.write_text(buf.getvalue(), encoding="utf-8")


def _naive_parquet(opt: SimpleNamespace, path: Path) -> None:
    """Every column of the whole plan built first, then one table written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sustain.report.documents import plan_table

    table = plan_table(opt)  # type: ignore[arg-type]
    cols: dict[str, list[Any]] = {n: [] for n, _ in table.columns}
    for chunk in table.chunks():
        for n in cols:
            cols[n].extend(chunk[n])
    cols["unit_cost"] = [round(v, 2) for v in cols["unit_cost"]]
    cols["cost"] = [round(v, 2) for v in cols["cost"]]
    pq.write_table(pa.table(cols), path)


def _child_write(kind: str, how: str, n_items: int, n_sites: int, out: str) -> dict[str, Any]:
    import pyarrow.parquet  # noqa: F401  (imported before the clock starts)

    from sustain.report.documents import json_text, plan_table
    from sustain.report.tabular import write_csv, write_json, write_parquet

    opt = _plan(n_items, n_sites)
    doc = _purchases(opt) if kind == "json" else None
    path = Path(out)
    before = _start_peak()
    c0 = time.process_time()
    t0 = time.perf_counter()
    if kind == "json":
        if how == "naive":
            path.write_text(json_text(doc), encoding="utf-8")
        else:
            write_json(doc, path)
    elif kind == "csv":
        if how == "naive":
            _naive_csv(opt, path)
        else:
            write_csv(plan_table(opt), path)  # type: ignore[arg-type]
    elif how == "naive":
        _naive_parquet(opt, path)
    else:
        write_parquet(plan_table(opt), path)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu": time.process_time() - c0,
            "peak_mib": _peak_since(before),
            "mib": path.stat().st_size / 2**20}


def _same(a: Path, b: Path) -> bool:
    """The same bytes (CSV, JSON) or the same table (Parquet)."""
    if a.suffix != ".parquet":
        return a.read_bytes() == b.read_bytes()
    import pyarrow.parquet as pq

    return bool(pq.read_table(a).equals(pq.read_table(b)))


def _run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                          text=True, check=False)
    if done.returncode:
        raise SystemExit(f"child {args} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.splitlines()[-1]))


# ---------------------------------------------------------------------------------------


def main() -> None:
    """Parse the options, run each measurement in its own process, print the table."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        what, *rest = sys.argv[2:]
        if what == "load":
            print(json.dumps(_child_load(rest[0], rest[1] == "old")))
        else:
            kind, how, n_items, n_sites, out = rest
            print(json.dumps(_child_write(kind, how, int(n_items), int(n_sites), out)))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--bases", type=int, default=20)
    p.add_argument("--plan-items", type=int, default=100_000)
    p.add_argument("--folder", type=Path, default=Path("/tmp/sustain-scale-io"))
    p.add_argument("--skip-old", action="store_true")
    args = p.parse_args()
    folder = args.folder
    n_sites = args.bases + 1
    print(f"scenario: {args.items:,} items × {n_sites} sites "
          f"({args.items * n_sites:,} stock rows), in {folder}")
    paths = {fmt: make_big_scenario(folder / fmt, args.items, args.bases, fmt=fmt)
             for fmt in ("parquet", "csv")}
    runs = [("parquet", "new"), ("csv", "new")]
    if not args.skip_old:
        runs += [("parquet", "old")]
    loads = {}
    print(f"{'load':<22}{'read s':>9}{'check s':>9}{'compile s':>11}{'total s':>9}"
          f"{'cpu s':>8}{'peak MiB':>10}")
    for fmt, how in runs:
        r = _run_child("load", str(paths[fmt]), how)
        loads[(fmt, how)] = r
        label = f"{fmt} ({'row by row' if how == 'old' else 'columns'})"
        print(f"{label:<22}{r['read']:>9.2f}{r['check']:>9.2f}{r['compile']:>11.2f}"
              f"{r['total']:>9.2f}{r['cpu']:>8.2f}{r['peak_mib']:>10.0f}")
    same = {(r["pairs"], r["stock_units"]) for r in loads.values()}
    print(f"same arrays from every path (pairs, units of stock): {len(same) == 1}")
    new = loads[("parquet", "new")]
    print(f"cpu time csv / parquet (columns): {loads[('csv', 'new')]['cpu'] / new['cpu']:.1f}×")
    if ("parquet", "old") in loads:
        old = loads[("parquet", "old")]
        print(f"parquet, row by row / columns: cpu time {old['cpu'] / new['cpu']:.1f}×, "
              f"peak memory {old['peak_mib'] / max(new['peak_mib'], 1):.1f}×")

    rows = args.plan_items * n_sites
    print(f"\nplan: {args.plan_items:,} items × {n_sites} sites = {rows:,} rows")
    print(f"{'write':<10}{'how':<10}{'seconds':>9}{'cpu s':>8}{'peak MiB':>10}{'file MiB':>10}")
    for kind in ("csv", "parquet", "json"):
        res = {}
        for how in ("naive", "streamed"):
            out = folder / f"plan-{how}.{kind}"
            res[how] = _run_child("write", kind, how, str(args.plan_items), str(n_sites),
                                  str(out))
            r = res[how]
            print(f"{kind:<10}{how:<10}{r['seconds']:>9.2f}{r['cpu']:>8.2f}{r['peak_mib']:>10.0f}"
                  f"{r['mib']:>10.1f}")
        same_file = _same(folder / f"plan-naive.{kind}", folder / f"plan-streamed.{kind}")
        ratio_t = res["naive"]["cpu"] / res["streamed"]["cpu"]
        ratio_m = res["naive"]["peak_mib"] / max(res["streamed"]["peak_mib"], 1)
        print(f"{'':<10}naive/streamed: cpu time {ratio_t:.2f}×, peak memory {ratio_m:.1f}×; "
              f"same content: {same_file}")
        for how in ("naive", "streamed"):
            (folder / f"plan-{how}.{kind}").unlink()


if __name__ == "__main__":
    main()
