"""A large two-echelon scenario written as a YAML file naming its table files.

    from big_scenario import make_big_scenario
    path = make_big_scenario(folder, n_items=100_000, n_bases=20)   # Parquet tables
    path = make_big_scenario(folder, 1_000, 5, fmt="csv")            # the same as CSV

One depot (``DEPOT``) and ``n_bases`` bases, ``N_SYSTEMS`` system types each fielded at
every base, ``n_items`` top-level items (each installed in one system type) and one
stock row per item and site (``n_items × (n_bases + 1)`` rows; most quantities are 0,
some 1–3).  The values are drawn from a fixed seed, so two calls write the same files.
Only pyarrow (the ``tables`` extra) is needed, for Parquet.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

#: System types in the scenario (each fielded at every base).
N_SYSTEMS = 50


def _columns(n_items: int, n_bases: int, seed: int) -> dict[str, dict[str, list | np.ndarray]]:
    rng = np.random.default_rng(seed)
    bases = [f"B{k:02d}" for k in range(n_bases)]
    systems = [f"SYS{k:02d}" for k in range(N_SYSTEMS)]
    item_ids = np.array([f"I{k:06d}" for k in range(n_items)], dtype=object)
    system_of = rng.integers(0, N_SYSTEMS, n_items)
    per_system = rng.integers(1, 4, n_items)
    installed = np.array([f"{systems[s]}:{q}" for s, q in zip(system_of.tolist(),
                                                             per_system.tolist(), strict=True)],
                         dtype=object)
    sites = ["DEPOT", *bases]
    n_sites = len(sites)
    qty = rng.integers(0, 4, (n_items, n_sites)) * (rng.random((n_items, n_sites)) < 0.3)
    return {
        "sites": {
            "id": sites,
            "parent": [""] + ["DEPOT"] * n_bases,
            "order_ship_days": [None, *np.round(rng.uniform(2, 10, n_bases), 2).tolist()],
        },
        "systems": {"id": systems},
        "fleets": {
            "system": np.repeat(systems, n_bases).tolist(),
            "site": bases * N_SYSTEMS,
            "count": rng.integers(2, 12, N_SYSTEMS * n_bases).tolist(),
            "hours_per_day": np.round(rng.uniform(4, 20, N_SYSTEMS * n_bases), 1).tolist(),
        },
        "items": {
            "id": item_ids,
            "unit_cost": np.round(rng.uniform(1e3, 1e6, n_items), 2),
            "mtbf_hours": np.round(rng.uniform(2_000, 50_000, n_items), 1),
            "installed_in": installed,
            "base_repair_fraction": rng.choice([0.0, 0.2, 0.5], n_items),
            "base_repair_days": np.round(rng.uniform(1, 7, n_items), 2),
            "depot_repair_days": np.round(rng.uniform(10, 60, n_items), 2),
            "condemnation_fraction": rng.choice([0.0, 0.05], n_items),
            "procurement_days": np.round(rng.uniform(90, 360, n_items), 1),
        },
        "stock": {
            "item": np.repeat(item_ids, n_sites),
            "site": np.tile(np.array(sites, dtype=object), n_items),
            "qty": qty.ravel().astype(np.int64),
        },
    }


def _write_parquet(path: Path, columns: dict[str, list | np.ndarray]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype.kind != "O":
            arrays[name] = pa.array(values)
        else:  # text (or a list with gaps): arrow infers the type, None is null
            arrays[name] = pa.array(list(values))
    pq.write_table(pa.table(arrays), path)


def _write_csv(path: Path, columns: dict[str, list | np.ndarray]) -> None:
    names = list(columns)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names)
        w.writerows(zip(*(np.asarray(columns[n]).tolist() for n in names), strict=True))


def make_big_scenario(
    folder: str | Path, n_items: int, n_bases: int, *, fmt: str = "parquet", seed: int = 1
) -> Path:
    """Write ``big.yaml`` and its five tables (``.parquet`` or ``.csv``) into ``folder``.

    Returns the path of the scenario file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv': got {fmt!r}")
    write = _write_parquet if fmt == "parquet" else _write_csv
    lines = [f"name: Big ({n_items} items, {n_bases} bases)"]
    for table, columns in _columns(n_items, n_bases, seed).items():
        if table == "sites" and fmt == "parquet":
            columns = {**columns, "parent": [p or None for p in columns["parent"]]}
        elif table == "sites":
            columns = {**columns, "order_ship_days": ["" if d is None else d
                                                      for d in columns["order_ship_days"]]}
        write(folder / f"big-{table}.{fmt}", columns)
        lines.append(f"{table}: {{file: big-{table}.{fmt}}}")
    path = folder / f"big-{fmt}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
