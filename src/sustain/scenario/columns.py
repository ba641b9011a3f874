"""A table file held column by column: each column's distinct values and, per row, which.

A table of millions of rows (the stock of every item at every site) costs one Python
dict per row when read row by row.  :class:`ColumnTable` keeps instead, per column,
the distinct values as read and one integer code per row; most columns of a large
table repeat few values (item and site ids, small quantities), so the checks of
:mod:`sustain.scenario.column_rows` run once per distinct value and the rows are
never built, except those that fail (to report them in the words of any other row).

An empty cell (nothing, blank text, NaN from a spreadsheet) is the value ``None``:
the row as a mapping leaves it out, as a row read from a CSV file does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from sustain._types import IntArray


def empty(value: object) -> bool:
    """Is ``value`` an empty cell (None, blank text, or NaN from a spreadsheet)?"""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and value != value


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its distinct ``values`` (``None`` for empty) and each row's code."""

    values: list[Any]
    codes: IntArray


def encode(cells: Sequence[Any]) -> Column:
    """The column of ``cells`` (one per row): distinct values, empty cells as ``None``.

    The cells of one column are of one type (a CSV column is text, a Parquet column is
    typed), so values that compare equal are the same value.  A column of unhashable
    values (lists from a nested Parquet column) keeps one value per row.
    """
    try:
        distinct = list(dict.fromkeys(cells))
    except TypeError:
        return Column([None if empty(v) else v for v in cells],
                      np.arange(len(cells), dtype=np.int64))
    pos = {v: k for k, v in enumerate(distinct)}
    codes = np.fromiter(map(pos.__getitem__, cells), dtype=np.int64, count=len(cells))
    return Column([None if empty(v) else v for v in distinct], codes)


def arrow_column(chunked: Any) -> Column:
    """A pyarrow column (``ChunkedArray``) as distinct values and codes, coded by Arrow
    in C (Python's own coding for a type Arrow cannot dictionary-encode)."""
    try:
        arr = chunked.combine_chunks()
        coded = arr if hasattr(arr, "dictionary") else arr.dictionary_encode()
    # Arrow's errors derive from these (ArrowNotImplementedError, ArrowInvalid, …).
    except (NotImplementedError, ValueError, TypeError):
        return encode(chunked.to_pylist())
    values = coded.dictionary.to_pylist()
    indices = coded.indices
    if indices.null_count:
        indices = indices.fill_null(len(values))
        values.append(None)
    codes = np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return Column([None if empty(v) else v for v in values], codes)


@dataclass(frozen=True, slots=True)
class ColumnTable:
    """A table file's rows as columns (header order), ``n_rows`` rows."""

    columns: dict[str, Column]
    n_rows: int

    def __len__(self) -> int:
        return self.n_rows

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as a mapping of its non-empty cells, as a row read alone would be."""
        out = {}
        for name, col in self.columns.items():
            v = col.values[col.codes[i]]
            if v is not None:
                out[name] = v
        return out

    def rows(self) -> list[dict[str, Any]]:
        """Every row as a mapping (for small tables and the checks that need them)."""
        return [self.row(i) for i in range(self.n_rows)]


class RowWhere(Sequence[str]):
    """``"items.parquet row 7"`` for each row of a table file, made when asked for."""

    __slots__ = ("_numbers", "_shown")

    def __init__(self, shown: str, numbers: Sequence[int]) -> None:
        self._shown = shown
        self._numbers = numbers

    def __len__(self) -> int:
        return len(self._numbers)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [f"{self._shown} row {n}" for n in self._numbers[i]]
        return f"{self._shown} row {self._numbers[i]}"

    def __iter__(self) -> Iterator[str]:
        return (f"{self._shown} row {n}" for n in self._numbers)
