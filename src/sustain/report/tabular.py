"""Data files of any size: a table written as CSV or Parquet chunk by chunk, JSON piece by piece.

A stock plan of two million item-site rows is never held as one text, nor as one list
of rows: :func:`sustain.report.documents.plan_table` reads it from the plan's arrays a
block of items at a time (at most :data:`CHUNK_ROWS` rows), and :func:`write_csv` and
:func:`write_parquet` write each block as it comes.  :func:`write_json` writes a
document with the encoder's pieces, never as one string.  Each writes to the path it
is given: :func:`sustain.report.files.write_outputs` gives a temporary file and
renames it into place only when every output was written.

A ``.parquet`` file holds the same table as the ``.csv`` file: the same columns, in
the same order, and the same values (a column of whole numbers as 64-bit integers, of
other numbers as doubles, of text as text; an empty CSV cell is a null).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sustain.errors import MissingExtraError

#: Most rows written at once (a Parquet row group; a CSV block).
CHUNK_ROWS = 65_536
#: Encoder pieces joined before one write of a JSON document.
JSON_PIECES = 2_048


class ColumnType(StrEnum):
    """What a column holds."""

    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    #: An amount of money: written with two decimals in CSV, as that number in Parquet.
    CENTS = "cents"


#: One block of rows: each column's values (``None`` for an empty cell).
Chunk = dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class ChunkedTable:
    """A table that is read in blocks: its columns and what yields its blocks."""

    columns: tuple[tuple[str, ColumnType], ...]
    chunks: Callable[[], Iterator[Chunk]]


def require_pyarrow(what: str) -> None:
    """Raise :class:`MissingExtraError` naming ``what`` when pyarrow is not installed."""
    try:
        import pyarrow  # noqa: F401  (imported to see that it is there)
    except ImportError:
        raise MissingExtraError(f"{what}: a Parquet file", "tables") from None


def csv_values(values: list[Any], kind: ColumnType) -> list[Any]:
    """A block's ``values`` of a column as CSV cells (money with two decimals, an
    empty cell for ``None``)."""
    if kind is ColumnType.CENTS:
        return ["" if v is None else f"{v:.2f}" for v in values]
    if any(v is None for v in values):
        return ["" if v is None else v for v in values]
    return values


def write_csv(table: ChunkedTable, path: Path) -> None:
    """Write ``table`` as CSV to ``path``, a block at a time."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([n for n, _ in table.columns])
        for chunk in table.chunks():
            w.writerows(zip(*(csv_values(chunk[n], k) for n, k in table.columns),
                            strict=True))


def write_parquet(table: ChunkedTable, path: Path) -> None:
    """Write ``table`` as Parquet to ``path``, one row group per block."""
    # pyarrow is an optional extra (sustain[tables]): only .parquet outputs import it.
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {ColumnType.TEXT: pa.string(), ColumnType.INT: pa.int64(),
             ColumnType.FLOAT: pa.float64(), ColumnType.CENTS: pa.float64()}
    schema = pa.schema([(n, types[k]) for n, k in table.columns])
    with pq.ParquetWriter(path, schema) as writer:
        wrote = False
        for chunk in table.chunks():
            arrays = []
            for name, kind in table.columns:
                values = chunk[name]
                if kind is ColumnType.CENTS:  # the number the CSV's two decimals read as
                    values = [None if v is None else round(v, 2) for v in values]
                arrays.append(pa.array(values, type=types[kind]))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            wrote = True
        if not wrote:
            writer.write_table(schema.empty_table())


# ---------------------------------------------------------------------------------------
# Any other CSV table as Parquet

#: Columns that hold ids: text even when every id reads as a number.
ID_COLUMNS = frozenset({"item", "site", "system", "fleet", "id", "parent", "from", "to",
                        "consumable", "donor", "offer"})
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|-?(?:nan|inf)")


def _column_type(name: str, cells: Sequence[str]) -> ColumnType:
    """Whole numbers, numbers or text: the narrowest type every non-empty cell reads as
    (a cell like ``007`` keeps a column text: its number would not read the same)."""
    filled = [c for c in cells if c != ""]
    if name in ID_COLUMNS or not filled:
        return ColumnType.TEXT
    if all(_INT.fullmatch(c) for c in filled):
        return ColumnType.INT
    if all(_FLOAT.fullmatch(c) for c in filled):
        return ColumnType.FLOAT
    return ColumnType.TEXT


def csv_table(text: str) -> ChunkedTable:
    """The CSV table ``text`` (a header row, then rows) as a :class:`ChunkedTable`."""
    rows = list(csv.reader(io.StringIO(text)))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    cols = [[r[k] if k < len(r) else "" for r in body] for k in range(len(header))]
    kinds = [_column_type(h, c) for h, c in zip(header, cols, strict=True)]
    read = {ColumnType.INT: int, ColumnType.FLOAT: float, ColumnType.TEXT: str}
    values = {h: [None if c == "" else read[k](c) for c in col]
              for h, k, col in zip(header, kinds, cols, strict=True)}

    def chunks() -> Iterator[Chunk]:
        for start in range(0, len(body), CHUNK_ROWS):
            yield {h: v[start:start + CHUNK_ROWS] for h, v in values.items()}

    return ChunkedTable(tuple(zip(header, kinds, strict=True)), chunks)


# ---------------------------------------------------------------------------------------
# JSON


def has_non_finite(doc: Any) -> bool:
    """Does ``doc`` hold a NaN or an infinity (which JSON cannot represent)?"""
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return False


def write_json(doc: Any, path: Path) -> None:
    """Write ``doc`` as indented JSON (the text of ``json_text``) to ``path``, in pieces.

    The caller checks :func:`has_non_finite` first: a NaN here raises ``ValueError``.
    """
    encoder = json.JSONEncoder(indent=1, allow_nan=False)
    with open(path, "w", encoding="utf-8") as fh:
        pieces: list[str] = []
        for piece in encoder.iterencode(doc):
            pieces.append(piece)
            if len(pieces) >= JSON_PIECES:
                fh.write("".join(pieces))
                pieces.clear()
        pieces.append("\n")
        fh.write("".join(pieces))
